/**
 * What the live dashboard costs the master: a real `horde run --dashboard` (the 50-endpoint scenario
 * test/helpers/scenarios/many-endpoints.ts, 2 local workers, 4 users, ~120 requests/s against the demo app in
 * its own process) measured in alternating windows without and with N viewers. Each viewer opens the page
 * once, then polls dashboard/data every second with `accept-encoding: gzip` as a browser does, at its own
 * offset within the second. The master's CPU (% of one core, /proc utime+stime of the `horde run` process,
 * which is the master: the workers are other processes) is compared window by window in the same run.
 * Build first (`npm run build`). Not part of the test suite.
 *
 *   npx tsx bench/dashboard-viewers.ts [--viewers 50] [--window 15] [--rounds 2]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { startDemoTargetProcess } from '../src/cli/demo-target-process.js'

const { values } = parseArgs({
  options: {
    viewers: { type: 'string', default: '50' },
    window: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '2' },
  },
})
const viewers = Number(values.viewers)
const windowS = Number(values.window)
const rounds = Number(values.rounds)
const CLK_TCK = 100
const scenario = 'test/helpers/scenarios/many-endpoints.ts'

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const target = await startDemoTargetProcess({ delayMs: { min: 2, max: 25 } })
const out = mkdtempSync(join(tmpdir(), 'bench-dashboard-'))
const durationS = 8 + 2 * windowS * rounds + 5
const run = spawn(
  process.execPath,
  [
    // BENCH_CPU_PROF=DIR writes the master's CPU profile there (where the viewers' cost goes).
    ...(process.env.BENCH_CPU_PROF !== undefined
      ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF]
      : []),
    'bin/horde.js',
    'run',
    scenario,
    '-w',
    '2',
    '-u',
    '4',
    '-r',
    '4',
    '-t',
    `${durationS}s`,
    '--host',
    target.url,
    '--out',
    out,
    '--dashboard',
  ],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HORDE_LOG_LEVEL: 'warn' } },
)
let text = ''
run.stdout?.on('data', (c: Buffer) => (text += c.toString()))
run.stderr?.on('data', (c: Buffer) => (text += c.toString()))
const exited = new Promise<number | null>((resolve) => run.on('exit', (code) => resolve(code)))
try {
  let url: string | undefined
  for (let i = 0; i < 300 && url === undefined; i++) {
    url = /live dashboard (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text)?.[1]
    await sleep(100)
  }
  if (url === undefined) throw new Error(`no dashboard URL printed:\n${text}`)
  await sleep(8000) // workers joined, load steady
  const pid = run.pid as number

  let polls = 0
  let bytes = 0
  let errors = 0
  let pages = 0
  async function viewer(index: number, until: number, openPage: boolean): Promise<void> {
    // Viewers opened the page at different moments: spread over the second.
    await sleep((index / viewers) * 1000)
    if (openPage) {
      const page = await request(url as string)
      bytes += (await page.body.arrayBuffer()).byteLength
      pages++
    }
    while (Date.now() < until) {
      const started = Date.now()
      try {
        const res = await request(`${url as string}dashboard/data`, {
          headers: { 'accept-encoding': 'gzip' },
        })
        bytes += (await res.body.arrayBuffer()).byteLength
        if (res.statusCode === 200) polls++
        else errors++
      } catch {
        errors++
      }
      await sleep(Math.max(0, 1000 - (Date.now() - started)))
    }
  }

  const windows: Array<{ viewers: number; cpuPercent: number; polls: number; pages: number }> = []
  for (let round = 0; round < rounds; round++) {
    for (const withViewers of [false, true]) {
      polls = 0
      pages = 0
      const c0 = cpuTicks(pid)
      const t0 = Date.now()
      const until = t0 + windowS * 1000
      if (withViewers)
        await Promise.all(Array.from({ length: viewers }, (_, i) => viewer(i, until, round === 0)))
      else await sleep(windowS * 1000)
      const cpu = ((cpuTicks(pid) - c0) / CLK_TCK / ((Date.now() - t0) / 1000)) * 100
      windows.push({
        viewers: withViewers ? viewers : 0,
        cpuPercent: Math.round(cpu * 10) / 10,
        polls,
        pages,
      })
    }
  }
  // The chart after freezing old seconds: one point per second, none missing or doubled.
  const last = (await (await request(`${url}dashboard/data`)).body.json()) as { chart: { t: number[] } }
  const steps = last.chart.t.slice(1).map((t, i) => Math.round((t - (last.chart.t[i] as number)) * 10) / 10)
  const chartPoints = last.chart.t.length
  const chartIrregularSteps = steps.filter((d) => d !== 1).length
  const code = await exited
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
    verdict: string
    totals: { requests: number; rps: number }
    endpoints: unknown[]
  }
  const mean = (v: number[]): number => Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 10) / 10
  const idle = mean(windows.filter((w) => w.viewers === 0).map((w) => w.cpuPercent))
  const watched = mean(windows.filter((w) => w.viewers > 0).map((w) => w.cpuPercent))
  process.stdout.write(
    `${JSON.stringify(
      {
        viewers,
        windowSeconds: windowS,
        endpoints: result.endpoints.length,
        rps: result.totals.rps,
        exit: code,
        verdict: result.verdict,
        windows,
        masterCpuPercentWithoutViewers: idle,
        masterCpuPercentWithViewers: watched,
        costOfViewersPercentOfOneCore: Math.round((watched - idle) * 10) / 10,
        pollErrors: errors,
        chartPoints,
        chartIrregularSteps,
        bytesReceived: bytes,
      },
      null,
      2,
    )}\n`,
  )
} finally {
  if (run.exitCode === null) run.kill('SIGKILL')
  await target.close()
  rmSync(out, { recursive: true, force: true })
}
