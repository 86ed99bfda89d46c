/**
 * Master benchmark: the Horde master and the Locust 2.12.1 master, side by side, under the same generator
 * (bench/master-load-generator.ts: 200 simulated workers, 50 endpoints each, stats every 3 s, heartbeats every
 * 1 s). The Horde master gets what real Horde workers send (reports built by the worker's own encoder, Horde
 * extension included); the Locust master gets Locust-shaped reports. Reports the master's CPU (% of one core,
 * from /proc over a steady window), how many live workers it marked missing, and for the Horde master its
 * event-loop delay (p99, max: bench/loop-probe.mjs), which bounds its longest turns. Not part of the test suite.
 *
 *   npx tsx bench/master-bench.ts [--workers 200] [--endpoints 50] [--seconds 60] [--only horde|locust]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '200' },
    endpoints: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    only: { type: 'string' },
    /** Passed to each generator process (see bench/master-load-generator.ts); 0: every worker builds its own. */
    'report-sources': { type: 'string', default: '0' },
  },
})
const workers = Number(values.workers)
const seconds = Number(values.seconds)
const CLK_TCK = 100
const WORKERS_PER_GENERATOR = 250

/** The generator processes' exit lines added up: requests reported, workers that sent their final quit, lateness. */
function summariseGenerators(lines: string[]): GeneratorSummary | Record<string, unknown> {
  const sum: GeneratorSummary = {
    processes: lines.length,
    workers: 0,
    requestsReported: 0,
    quitCount: 0,
    heartbeatGapMaxMs: 0,
    heartbeatGapsOver2s: 0,
    heartbeatGapsOver3s: 0,
    loopDelayMaxMs: 0,
  }
  for (const line of lines) {
    try {
      const parsed = JSON.parse(line) as GeneratorSummary
      sum.workers += parsed.workers
      sum.requestsReported += parsed.requestsReported
      sum.quitCount += parsed.quitCount
      sum.heartbeatGapMaxMs = Math.max(sum.heartbeatGapMaxMs, parsed.heartbeatGapMaxMs)
      sum.heartbeatGapsOver2s += parsed.heartbeatGapsOver2s
      sum.heartbeatGapsOver3s += parsed.heartbeatGapsOver3s
      sum.loopDelayMaxMs = Math.max(sum.loopDelayMaxMs, parsed.loopDelayMaxMs)
    } catch {
      return { processes: lines.length, unreadable: line }
    }
  }
  return sum
}

interface GeneratorSummary {
  processes: number
  workers: number
  requestsReported: number
  quitCount: number
  heartbeatGapMaxMs: number
  heartbeatGapsOver2s: number
  /** Heartbeat gaps past the Horde master's 3 s timeout: the generator went silent, not the master. */
  heartbeatGapsOver3s: number
  loopDelayMaxMs: number
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function cpuTicks(pid: number): number {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return Number.NaN
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime + stime
}

/** CPU ticks per thread name (main JavaScript thread, libzmq I/O, V8 GC helpers, libuv pool): where the CPU went. */
function threadTicks(pid: number): Map<string, number> {
  const ticks = new Map<string, number>()
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return ticks
  }
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim().replace(/\d+$/, 'N')
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks.set(name, (ticks.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]))
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ticks
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
  let text = ''
  child.stdout?.on('data', (c: Buffer) => (text += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (text += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => text, exited }
}

async function bench(kind: 'horde' | 'locust'): Promise<Record<string, unknown>> {
  const port = await freePort()
  const out = mkdtempSync(join(tmpdir(), `bench-${kind}-`))
  const probeOut = join(out, 'loop-probe.json')
  const common = ['-u', String(workers), '-r', String(workers)]
  const master =
    kind === 'horde'
      ? run(
          process.execPath,
          [
            ...(process.env.BENCH_MASTER_NODE_ARGS ?? '').split(' ').filter(Boolean),
            '--import',
            './bench/loop-probe.mjs',
            'bin/horde.js',
            'master',
            'test/helpers/scenarios/vote.ts',
            '--expect-workers',
            String(workers),
            ...common,
            '-t',
            `${seconds}s`,
            '--master-host',
            '127.0.0.1',
            '--master-port',
            String(port),
            '--host',
            'http://127.0.0.1:9',
            '--skip-host-check',
            '--api-port',
            '0',
            '--out',
            out,
            '--log-level',
            'info',
          ],
          { ...process.env, BENCH_LOOP_PROBE_OUT: probeOut },
        )
      : run('/usr/bin/locust', [
          '-f',
          'test/helpers/locustfiles/vote_locustfile.py',
          '--master',
          '--headless',
          ...common,
          '-t',
          `${seconds}s`,
          '--expect-workers',
          String(workers),
          '--master-bind-host',
          '127.0.0.1',
          '--master-bind-port',
          String(port),
          '-H',
          'http://127.0.0.1:9',
          '--only-summary',
        ])
  await new Promise((r) => setTimeout(r, kind === 'horde' ? 1500 : 2500))
  // One generator process per 250 simulated workers: libzmq caps a context at 1023 sockets (ZMQ_MAX_SOCKETS),
  // and one process's event loop driving 1000 workers' timers would measure the generator, not the master.
  const processes = Math.max(1, Math.ceil(workers / WORKERS_PER_GENERATOR))
  const generators = Array.from({ length: processes }, (_, i) => {
    const first = Math.floor((i * workers) / processes)
    const count = Math.floor(((i + 1) * workers) / processes) - first
    return run(process.execPath, [
      '--import',
      'tsx',
      'bench/master-load-generator.ts',
      '--port',
      String(port),
      '--workers',
      String(count),
      '--first-index',
      String(first),
      '--endpoints',
      String(values.endpoints),
      '--max-seconds',
      String(seconds + 60),
      '--shape',
      kind,
      '--report-sources',
      String(values['report-sources']),
    ])
  })
  const pid = master.child.pid as number
  // Steady window: from 15 s after the generator started to 10 s before the run ends.
  await new Promise((r) => setTimeout(r, 15_000))
  const t0 = Date.now()
  const c0 = cpuTicks(pid)
  // A generator that has exited keeps its last reading (its CPU does not vanish from the window).
  const lastGeneratorTicks = new Map<number, number>()
  const generatorTicks = (): number =>
    generators.reduce((sum, g) => {
      const pid = g.child.pid as number
      const ticks = cpuTicks(pid)
      if (!Number.isNaN(ticks)) lastGeneratorTicks.set(pid, ticks)
      return sum + (lastGeneratorTicks.get(pid) ?? 0)
    }, 0)
  const g0 = generatorTicks()
  const threads0 = threadTicks(pid)
  const loadAverageAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  const perSecond: number[] = []
  let last = c0
  let lastAt = t0
  const windowMs = Math.max(10_000, (seconds - 20) * 1000)
  while (Date.now() - t0 < windowMs) {
    await new Promise((r) => setTimeout(r, 1000))
    const now = Date.now()
    const ticks = cpuTicks(pid)
    if (Number.isNaN(ticks)) {
      process.stderr.write(`master exited early:\n${master.output().slice(-3000)}\n`)
      break
    }
    perSecond.push(((ticks - last) / CLK_TCK / ((now - lastAt) / 1000)) * 100)
    last = ticks
    lastAt = now
  }
  const avgCpu = ((last - c0) / CLK_TCK / ((lastAt - t0) / 1000)) * 100
  const masterThreadsPercent: Record<string, number> = {}
  for (const [name, ticks] of threadTicks(pid)) {
    const percent = ((ticks - (threads0.get(name) ?? 0)) / CLK_TCK / ((lastAt - t0) / 1000)) * 100
    if (percent >= 0.05) masterThreadsPercent[name] = Math.round(percent * 10) / 10
  }
  // All generator processes together (% of one core, same window): what they took from the master's 2 cores.
  const generatorCpu = ((generatorTicks() - g0) / CLK_TCK / ((Date.now() - t0) / 1000)) * 100
  const loadAverageAtEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  const exit = await Promise.race([
    master.exited,
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000)),
  ])
  if (exit === 'timeout') master.child.kill('SIGKILL')
  await Promise.race([
    Promise.all(generators.map((g) => g.exited)),
    new Promise((r) => setTimeout(r, 10_000)),
  ])
  // A generator whose workers never heard quit (missing, forgotten) is asked to finish: it prints its summary
  // (heartbeat gaps included) on SIGTERM. SIGKILL only for one that does not finish.
  for (const g of generators) if (g.child.exitCode === null) g.child.kill('SIGTERM')
  await Promise.race([
    Promise.all(generators.map((g) => g.exited)),
    new Promise((r) => setTimeout(r, 10_000)),
  ])
  for (const g of generators) if (g.child.exitCode === null) g.child.kill('SIGKILL')
  const text = master.output()
  // The master's whole output, for a look at its log (or --trace-gc through BENCH_MASTER_NODE_ARGS).
  if (process.env.BENCH_MASTER_OUTPUT) writeFileSync(process.env.BENCH_MASTER_OUTPUT, text)
  let missing: number
  let totals: unknown = null
  let loop: unknown = null
  if (kind === 'horde') {
    try {
      loop = JSON.parse(readFileSync(probeOut, 'utf8'))
    } catch {
      loop = 'no probe output'
    }
    if (!existsSync(join(out, 'result.json'))) {
      // Say why rather than a bare ENOENT: the master's own last words.
      throw new Error(
        `the Horde master wrote no result.json (exit ${master.child.exitCode}):\n${text.slice(-3000)}`,
      )
    }
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
      events: Array<{ kind: string }>
      totals: { requests: number }
    }
    missing = result.events.filter((e) => e.kind === 'worker-missing').length
    totals = result.totals.requests
  } else {
    missing = (text.match(/failed to send heartbeat, setting state to missing/g) ?? []).length
    totals = /Aggregated\s+(\d+)/.exec(text)?.[1] ?? null
  }
  return {
    master: kind === 'horde' ? 'horde' : 'locust 2.12.1',
    workers,
    endpoints: Number(values.endpoints),
    masterCpuAvgPercent: Math.round(avgCpu * 10) / 10,
    masterThreadsPercent,
    loadAverage: { atStart: loadAverageAtStart, atEnd: loadAverageAtEnd },
    masterCpuMaxPercentPerSecond: Math.round(Math.max(...perSecond) * 10) / 10,
    workersMarkedMissing: missing,
    masterTotalRequests: totals,
    ...(kind === 'horde' ? { masterLoopDelay: loop } : {}),
    ...generatorVerdict(
      missing,
      summariseGenerators(generators.map((g) => g.output().trim().split('\n').at(-1) ?? '')),
    ),
    generatorCpuAvgPercent: Math.round(generatorCpu * 10) / 10,
    exit,
  }
}

/**
 * A worker marked missing is the master's fault only if its generator kept heartbeating: every heartbeat gap over
 * 3 s (the Horde master's timeout) is a generator that went silent (starved of CPU), and may rightly be missing.
 */
function generatorVerdict(
  missing: number,
  generators: GeneratorSummary | Record<string, unknown>,
): Record<string, unknown> {
  const silent = typeof generators.heartbeatGapsOver3s === 'number' ? generators.heartbeatGapsOver3s : null
  return {
    generators,
    workersWronglyMissing: silent === null ? null : Math.max(0, missing - silent),
  }
}

const kinds = values.only === undefined ? (['horde', 'locust'] as const) : [values.only as 'horde' | 'locust']
for (const kind of kinds) {
  process.stdout.write(`${JSON.stringify(await bench(kind))}\n`)
}
