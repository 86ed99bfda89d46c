// A minimal Locust-protocol master for benchmarks: registers one real `horde worker` process, spawns N users
// of one class, collects its stats reports, and quits it after the given time. The master does a few
// messages per second, so nearly all the CPU measured is the worker's.
//   node bench/worker-harness.mjs closed USERS SECONDS   → {"rps":N, ...} last line
//   node bench/worker-harness.mjs idle USERS             → {"users":N,"rssBytes":..,"bytesPerUser":..}
//   node bench/worker-harness.mjs open RPS SECONDS [WARMUP_SECONDS=10]
//        → {"targetRps":N,"achievedRps":..,"jitterP99Ms":..} over the steady state after the warm-up, plus the
//          warm-up's own figures (start-up and JIT compilation, which share the worker's core)
// HORDE_BENCH_WORKER_CPU=N pins the worker alone to CPU N (run the harness itself elsewhere, e.g. with
// `taskset -c 0`): the harness plays the master, and a real master does not share its workers' cores.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MasterSocket } from '../dist/src/protocol/index.js'
import { decodeHistogram, createResponseTimeHistogram } from '../dist/src/protocol/horde-extension.js'
import { OPEN_MODEL_NODE_FLAGS } from '../dist/src/cli/worker-node-flags.js'

const [mode = 'closed', usersArg = '64', secondsArg = '10', warmupArg = '10'] = process.argv.slice(2)
const users = Number(usersArg)
const seconds = Number(secondsArg)
const warmupMs = Number(warmupArg) * 1000
const root = fileURLToPath(new URL('..', import.meta.url))
const scenario = {
  idle: 'bench/scenarios/idle-users.ts',
  closed: 'bench/scenarios/closed-small.ts',
  open: process.env.HORDE_BENCH_SCENARIO ?? 'bench/scenarios/open-small.ts',
}[mode]
const userClass = { idle: 'Sleeper', closed: 'Hammer', open: 'Arrival' }[mode]
// Open model: per-second started/dropped iterations and the scheduler's start lag, in the steady state and
// during the warm-up.
const iterations = new Map()
const startLag = createResponseTimeHistogram()
const warmupStartLag = createResponseTimeHistogram()

const master = await MasterSocket.bind({ host: '127.0.0.1', port: 0 })
// Extra node flags for the worker, e.g. HORDE_WORKER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
// In the open model the worker gets the flags `horde run` gives open-model workers (a 64 MB young
// generation, single-threaded GC: src/cli/worker-node-flags.ts).
const nodeArgs = [
  ...(mode === 'open' ? OPEN_MODEL_NODE_FLAGS : []),
  ...(process.env.HORDE_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean),
]
const workerCpu = process.env.HORDE_BENCH_WORKER_CPU
const workerArgs = [...nodeArgs, 'bin/horde.js', 'worker', scenario, '--master-port', String(master.port)]
const worker = spawn(
  workerCpu ? 'taskset' : process.execPath,
  workerCpu ? ['-c', workerCpu, process.execPath, ...workerArgs] : workerArgs,
  {
    cwd: root,
    stdio: ['ignore', process.env.HORDE_BENCH_VERBOSE ? 'inherit' : 'ignore', 'inherit'],
    env: { ...process.env, HORDE_LOG_LEVEL: 'warn' },
  },
)
const hardStop = setTimeout(() => worker.kill('SIGKILL'), (seconds + 60) * 1000)

let nodeId = null
let requests = 0
let lastRss = 0
let cpuPercentSum = 0
let cpuBeats = 0
let spawnedAt = 0
let spawned
const spawnedPromise = new Promise((r) => (spawned = r))
const quitPromise = new Promise((resolve) => {
  master.onMessage((id, { message }) => {
    if (message.type === 'clientReady') {
      nodeId = id
      master.send(id, { type: 'ack', index: 0 })
      master.send(id, {
        type: 'spawn',
        timestamp: Date.now() / 1000 + 0.000123,
        userClassesCount: { [userClass]: mode === 'open' ? 0 : users },
        host: null,
        stopTimeoutSec: 0,
        parsedOptions: {},
      })
      if (mode === 'open') {
        // HORDE_BENCH_RAMP_S=N: reach the rate by a linear ramp from ~0 over N seconds, as a rate stage would.
        const rampMs = Number(process.env.HORDE_BENCH_RAMP_S ?? 0) * 1000
        for (const open of rampMs > 0
          ? [
              { rps: 1, maxInFlight: 1000, rampMs: 0 },
              { rps: users, maxInFlight: 1000, rampMs },
            ]
          : [{ rps: users, maxInFlight: 1000, rampMs: 0 }]) {
          master.send(id, { type: 'custom', name: 'horde_control', data: { v: 1, open } })
        }
      }
      spawnedAt = performance.now()
    } else if (message.type === 'spawningComplete') spawned()
    else if (message.type === 'stats') {
      requests += message.report.statsTotal.numRequests
      const ext = message.report.extra.horde
      for (const c of ext?.iterations ?? []) {
        const e = iterations.get(c.second) ?? { started: 0, dropped: 0 }
        e.started += c.started
        e.dropped += c.dropped
        iterations.set(c.second, e)
      }
      // A report covers the 3 s before it: those that end after the warm-up are the steady state.
      const h = ext?.open?.startLagHist ? decodeHistogram(ext.open.startLagHist) : null
      if (h) (performance.now() - spawnedAt - 3000 >= warmupMs ? startLag : warmupStartLag).add(h)
    } else if (message.type === 'heartbeat') {
      lastRss = message.memoryBytes ?? lastRss
      // The worker's own CPU over each second of the load: CPU per request is steadier than rps on a busy machine.
      if (spawnedAt > 0) {
        cpuPercentSum += message.cpuPercent ?? 0
        cpuBeats += 1
      }
      master.send(id, { type: 'heartbeat' })
    } else if (message.type === 'quit') resolve()
  })
})

await spawnedPromise
if (mode === 'idle') {
  // Let the users settle, then read RSS from a few heartbeats.
  await new Promise((r) => setTimeout(r, 4000))
  const rssIdle = lastRss
  master.send(nodeId, { type: 'quit' })
  await quitPromise
  console.log(JSON.stringify({ users, rssBytes: rssIdle, rssMB: Math.round(rssIdle / 1e6) }))
} else if (mode === 'open') {
  const spawnedAtS = Date.now() / 1000
  await new Promise((r) => setTimeout(r, seconds * 1000))
  master.send(nodeId, { type: 'quit' })
  await quitPromise
  // Whole seconds after the warm-up, without the last (quit).
  const whole = [...iterations]
    .sort((a, b) => a[0] - b[0])
    .filter(([second]) => second >= Math.ceil(spawnedAtS + warmupMs / 1000))
    .slice(0, -1)
  if (process.env.HORDE_BENCH_VERBOSE)
    console.error(JSON.stringify([...iterations].sort((a, b) => a[0] - b[0])))
  const started = whole.reduce((s, [, c]) => s + c.started, 0)
  const dropped = whole.reduce((s, [, c]) => s + c.dropped, 0)
  const achievedRps = Math.round(started / Math.max(1, whole.length))
  const ms = (us) => Math.round(us) / 1000
  console.log(
    JSON.stringify({
      targetRps: users,
      achievedRps,
      ratio: Math.round((achievedRps / users) * 10000) / 10000,
      dropped,
      jitterP99Ms: ms(startLag.getValueAtPercentile(99)),
      jitterMaxMs: ms(startLag.maxValue),
      seconds: whole.length,
      warmup: {
        seconds: warmupMs / 1000,
        jitterP99Ms: ms(warmupStartLag.getValueAtPercentile(99)),
        jitterMaxMs: ms(warmupStartLag.maxValue),
      },
    }),
  )
} else {
  await new Promise((r) => setTimeout(r, seconds * 1000))
  master.send(nodeId, { type: 'quit' })
  const quitSentAt = performance.now()
  await quitPromise
  const elapsedS = (quitSentAt - spawnedAt) / 1000
  const cpuPercent = cpuBeats === 0 ? null : cpuPercentSum / cpuBeats
  console.log(
    JSON.stringify({
      rps: Math.round(requests / elapsedS),
      requests,
      seconds: elapsedS,
      cpuPercent: cpuPercent === null ? null : Math.round(cpuPercent),
      cpuUsPerRequest:
        cpuPercent === null ? null : Math.round(((cpuPercent / 100) * elapsedS * 1e6) / requests),
    }),
  )
}
clearTimeout(hardStop)
await new Promise((r) => worker.once('exit', r))
await master.close()
