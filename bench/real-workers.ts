/**
 * The issue-9 shape with real processes: one `horde master` and N `horde worker` processes (1 user each, the
 * 50-endpoint scenario test/helpers/scenarios/many-endpoints.ts, ~30 requests/s per worker) against the demo
 * vote app on loopback. Prints the verdict, the master's CPU (% of one core from /proc, whole load window), its
 * event-loop delay (bench/loop-probe.mjs: p99 and max bound its longest turns) and workers marked missing.
 * Build first (`npm run build`). Not part of the test suite.
 *
 *   npx tsx bench/real-workers.ts [--workers 16] [--seconds 40]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startDemoTargetProcess } from '../src/cli/demo-target-process.js'

const { values } = parseArgs({
  options: { workers: { type: 'string', default: '16' }, seconds: { type: 'string', default: '40' } },
})
const workers = Number(values.workers)
const seconds = Number(values.seconds)
const CLK_TCK = 100
const scenario = 'test/helpers/scenarios/many-endpoints.ts'

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return Number.NaN
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

const port = await freePort()
const target = await startDemoTargetProcess({ delayMs: { min: 2, max: 25 } })
const out = mkdtempSync(join(tmpdir(), 'bench-real-workers-'))
const probeOut = join(out, 'loop-probe.json')
const children: ChildProcess[] = []
try {
  const master = spawn(
    process.execPath,
    [
      '--import',
      './bench/loop-probe.mjs',
      'bin/horde.js',
      'master',
      scenario,
      '--expect-workers',
      String(workers),
      '-u',
      String(workers),
      '-r',
      String(workers),
      '-t',
      `${seconds}s`,
      '--master-host',
      '127.0.0.1',
      '--master-port',
      String(port),
      '--host',
      target.url,
      '--api-port',
      '0',
      '--out',
      out,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BENCH_LOOP_PROBE_OUT: probeOut } },
  )
  children.push(master)
  let text = ''
  master.stdout?.on('data', (c: Buffer) => (text += c.toString()))
  master.stderr?.on('data', (c: Buffer) => (text += c.toString()))
  const exited = new Promise<number | null>((resolve) => master.on('exit', (code) => resolve(code)))
  await new Promise((r) => setTimeout(r, 1500))
  for (let i = 0; i < workers; i++) {
    children.push(
      spawn(
        process.execPath,
        [
          'bin/horde.js',
          'worker',
          scenario,
          '--master-host',
          '127.0.0.1',
          '--master-port',
          String(port),
          '--host',
          target.url,
        ],
        { stdio: 'ignore', env: { ...process.env, HORDE_LOG_LEVEL: 'warn' } },
      ),
    )
  }
  const c0 = cpuTicks(master.pid as number)
  const t0 = Date.now()
  let last = c0
  let lastAt = t0
  for (;;) {
    const ticks = cpuTicks(master.pid as number)
    if (Number.isNaN(ticks) || master.exitCode !== null) break
    last = ticks
    lastAt = Date.now()
    await new Promise((r) => setTimeout(r, 500))
  }
  const code = await exited
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
    verdict: string
    totals: { requests: number; p95Ms: number | null }
    endpoints: unknown[]
    events: Array<{ kind: string }>
    percentileSource: string
  }
  const served = await target.close()
  process.stdout.write(
    `${JSON.stringify({
      workers,
      endpoints: result.endpoints.length,
      exit: code,
      verdict: result.verdict,
      requests: result.totals.requests,
      servedByApp: served,
      percentileSource: result.percentileSource,
      masterCpuPercentOfOneCore: Math.round(((last - c0) / CLK_TCK / ((lastAt - t0) / 1000)) * 1000) / 10,
      masterLoopDelay: JSON.parse(readFileSync(probeOut, 'utf8')) as unknown,
      workersMarkedMissing: result.events.filter((e) => e.kind === 'worker-missing').length,
      masterBehindEvents: result.events.filter((e) => e.kind === 'master-behind').length,
    })}\n`,
  )
} finally {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  await target.close()
}
