/**
 * What the live dashboard costs the master: a real `horde run --dashboard` (the 50-endpoint scenario
 * test/helpers/scenarios/many-endpoints.ts, 2 local workers, 4 users, ~120 requests/s against the demo app in
 * its own process) measured in alternating windows: no viewers, N viewers that behave as the page does, and
 * (for a ratio in the same run) N viewers that poll the whole state every second as the first version of the
 * page did. Every viewer opens the page once before the first window (not measured). A page-like viewer asks
 * `dashboard/data` for the whole state, then for what changed since the version it has, with `wait=1` (the
 * master holds it until its next version) and `accept-encoding: gzip`, at least 250 ms apart, as
 * report/templates/dashboard-client.js does. Viewers start at their own offset within the second. The
 * master's CPU (% of one core, /proc utime+stime of the `horde run` process, which is the master: the workers
 * are other processes) is compared window by window in the same run; the figures are medians over rounds.
 * Build first (`npm run build`). Not part of the test suite.
 *
 *   npx tsx bench/dashboard-viewers.ts [--viewers 50] [--window 15] [--rounds 2]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadavg } from 'node:os'
import { gunzipSync } from 'node:zlib'
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
const durationS = 8 + 3 * windowS * rounds + 5
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
  let notModified = 0
  let bytes = 0
  let errors = 0
  let pages = 0
  type Mode = 'none' | 'page' | 'whole'
  async function viewer(index: number, until: number, mode: Mode): Promise<void> {
    // Viewers opened the page at different moments: spread over the second.
    await sleep((index / viewers) * 1000)
    let version: string | null = null
    while (Date.now() < until) {
      const started = Date.now()
      try {
        const query: string = mode === 'page' && version !== null ? `?since=${version}&wait=1` : ''
        const res = await request(`${url as string}dashboard/data${query}`, {
          headers: { 'accept-encoding': 'gzip' },
        })
        const body: Buffer = Buffer.from(await res.body.arrayBuffer())
        bytes += body.length
        if (res.statusCode === 200) {
          polls++
          if (mode === 'page') version = (JSON.parse(gunzipSync(body).toString()) as { v: string }).v
        } else if (res.statusCode === 304) notModified++
        else errors++
      } catch {
        errors++
      }
      await sleep(Math.max(0, (mode === 'page' ? 250 : 1000) - (Date.now() - started)))
    }
  }

  const windows: Array<{
    mode: Mode
    cpuPercent: number
    polls: number
    notModified: number
    kbPerAnswer: number
    loadAverage1m: number
  }> = []
  // The viewers open the page before the first window: page loads are a one-off, not the steady cost.
  let pageBytes = 0
  for (let i = 0; i < viewers; i++) {
    const page = await request(url)
    pageBytes += (await page.body.arrayBuffer()).byteLength
    pages++
  }
  await sleep(2000)
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['none', 'page', 'whole'] as const) {
      polls = 0
      notModified = 0
      bytes = 0
      const c0 = cpuTicks(pid)
      const t0 = Date.now()
      const until = t0 + windowS * 1000
      if (mode !== 'none')
        await Promise.all(Array.from({ length: viewers }, (_, i) => viewer(i, until, mode)))
      else await sleep(windowS * 1000)
      const cpu = ((cpuTicks(pid) - c0) / CLK_TCK / ((Date.now() - t0) / 1000)) * 100
      windows.push({
        mode,
        cpuPercent: Math.round(cpu * 10) / 10,
        polls,
        notModified,
        kbPerAnswer: polls === 0 ? 0 : Math.round(bytes / (polls + notModified) / 102.4) / 10,
        loadAverage1m: Math.round((loadavg()[0] ?? 0) * 10) / 10,
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
  const median = (v: number[]): number => {
    const sorted = [...v].sort((a, b) => a - b)
    const mid = Math.floor(sorted.length / 2)
    const m =
      sorted.length % 2 === 1
        ? (sorted[mid] as number)
        : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
    return Math.round(m * 10) / 10
  }
  const of = (mode: Mode): number[] => windows.filter((w) => w.mode === mode).map((w) => w.cpuPercent)
  const idle = median(of('none'))
  const watched = median(of('page'))
  const whole = median(of('whole'))
  process.stdout.write(
    `${JSON.stringify(
      {
        viewers,
        windowSeconds: windowS,
        rounds,
        endpoints: result.endpoints.length,
        rps: result.totals.rps,
        exit: code,
        verdict: result.verdict,
        windows,
        masterCpuPercentWithoutViewers: idle,
        masterCpuPercentWithViewers: watched,
        // The figure the issue asks for: N page-like viewers, median over rounds, minus no viewers.
        costOfViewersPercentOfOneCore: Math.round((watched - idle) * 10) / 10,
        masterCpuPercentWithWholeStatePolls: whole,
        costOfWholeStatePollsPercentOfOneCore: Math.round((whole - idle) * 10) / 10,
        loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
        pageLoads: pages,
        kbPerPage: Math.round(pageBytes / Math.max(1, pages) / 102.4) / 10,
        pollErrors: errors,
        chartPoints,
        chartIrregularSteps,
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
