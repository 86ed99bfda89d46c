/**
 * A light load generator for benchmarking masters: N simulated workers in one process, each a real ZeroMQ
 * DEALER speaking Locust's protocol (client_ready -1, heartbeats every 1 s, stats every 3 s with E endpoints,
 * spawning/spawning_complete, final stats + quit). No HTTP traffic: only the master's side is measured.
 * With `--shape horde` (the default) each report is what a real Horde worker sends: the requests go through the
 * worker's own RequestStats and StatsHistograms (bench/horde-worker-reports.ts), Horde extension included. With
 * `--shape locust` the reports carry Locust's fields only, as a Locust worker's do.
 *
 *   npx tsx bench/master-load-generator.ts --port 5557 --workers 200 --endpoints 50 [--shape horde|locust]
 *
 * Prints one JSON line at exit: requests reported, per worker state, sent messages.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { WorkerSocket, makeNodeId } from '../src/protocol/transport.js'
import { bucketResponseTime } from '../src/protocol/buckets.js'
import type { StatsEntryWire, StatsReport, WorkerState } from '../src/protocol/messages.js'
import {
  seededRandom,
  simulatedHordeWorker,
  simulatedReport,
  type SimulatedHordeWorker,
} from './horde-worker-reports.js'

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '5557' },
    workers: { type: 'string', default: '200' },
    /** Index of this process's first simulated worker (several generator processes share one run). */
    'first-index': { type: 'string', default: '0' },
    endpoints: { type: 'string', default: '50' },
    'requests-per-endpoint': { type: 'string', default: '20' },
    'max-seconds': { type: 'string', default: '600' },
    shape: { type: 'string', default: 'horde' },
    /**
     * Simulated Horde workers share this many report builders (0: each builds its own). Building reports through
     * the worker's encoder costs the generator far more than merging them costs the master: at 1000 workers the
     * generators took the 2 cores from the master they were measuring. Shared builders still send full, distinct
     * reports per worker (own node id, own user counts), with the same shape and size.
     */
    'report-sources': { type: 'string', default: '0' },
    /** All workers report in the same instant every 3 s: the merge-heavy burst a master must absorb. */
    burst: { type: 'boolean', default: false },
  },
})
const workerCount = Number(values.workers)
const endpointCount = Number(values.endpoints)
const perEndpoint = Number(values['requests-per-endpoint'])
const hordeShape = values.shape !== 'locust'
const sourceCount = Number(values['report-sources'])
interface ReportSource {
  worker: SimulatedHordeWorker
  random: () => number
  builtAtMs: number
  report: StatsReport | null
}
const sources: ReportSource[] = Array.from({ length: sourceCount }, (_, i) => ({
  worker: simulatedHordeWorker(Date.now()),
  random: seededRandom(1000 + i),
  builtAtMs: 0,
  report: null,
}))

/** A report from a shared builder: rebuilt at most once a second, so its seconds stay current. */
function sharedReport(index: number, running: number): StatsReport {
  const source = sources[index % sourceCount] as ReportSource
  const nowMs = Date.now()
  if (source.report === null || nowMs - source.builtAtMs >= 1000) {
    // Each build covers the time since the previous one: the builder's clock only moves forward, as a
    // worker's does (a clock going back would put requests in seconds already encoded).
    source.report = simulatedReport(source.worker, source.random, {
      endMs: nowMs,
      intervalMs: source.report === null ? 3000 : nowMs - source.builtAtMs,
      requests: perEndpoint * endpointCount,
      endpoints: endpointCount,
      userCount: running,
    })
    source.builtAtMs = nowMs
  }
  return source.report
}
let requestsReported = 0
let quitCount = 0
/**
 * The generator's own lateness, so a starved generator is told apart from a slow master: the longest gap between
 * two heartbeats of one simulated worker, and how many gaps passed the Horde master's 3 s timeout (a worker that
 * really went silent: the master is right to mark it missing). Gaps are measured where the heartbeat is handed to
 * the socket, so a master that reads late does not show here.
 */
let heartbeatGapMaxMs = 0
let heartbeatGapsOver2s = 0
let heartbeatGapsOver3s = 0
const generatorLoop = monitorEventLoopDelay({ resolution: 20 })
generatorLoop.enable()

function entry(name: string, method: string, requests: number, nowSec: number): StatsEntryWire {
  const responseTimes = new Map<number, number>()
  const perSec = new Map<number, number>()
  let total = 0
  let min = Number.POSITIVE_INFINITY
  let max = 0
  for (let i = 0; i < requests; i++) {
    const rt = 5 + Math.random() * Math.random() * 800
    total += rt
    min = Math.min(min, rt)
    max = Math.max(max, rt)
    const bucket = bucketResponseTime(rt)
    responseTimes.set(bucket, (responseTimes.get(bucket) ?? 0) + 1)
    const second = nowSec - (i % 3)
    perSec.set(second, (perSec.get(second) ?? 0) + 1)
  }
  return {
    name,
    method,
    lastRequestTimestamp: nowSec + 0.5,
    startTime: nowSec - 3,
    numRequests: requests,
    numNoneRequests: 0,
    numFailures: 0,
    totalResponseTime: total,
    maxResponseTime: max,
    minResponseTime: requests > 0 ? min : null,
    totalContentLength: requests * 512,
    responseTimes,
    numReqsPerSec: perSec,
    numFailPerSec: new Map(),
  }
}

function merged(entries: StatsEntryWire[], nowSec: number): StatsEntryWire {
  const total = entry('Aggregated', '', 0, nowSec)
  for (const e of entries) {
    total.numRequests += e.numRequests
    total.totalResponseTime += e.totalResponseTime
    total.maxResponseTime = Math.max(total.maxResponseTime, e.maxResponseTime)
    if (e.minResponseTime !== null)
      total.minResponseTime = Math.min(total.minResponseTime ?? Infinity, e.minResponseTime)
    total.totalContentLength += e.totalContentLength
    for (const [k, v] of e.responseTimes) total.responseTimes.set(k, (total.responseTimes.get(k) ?? 0) + v)
    for (const [k, v] of e.numReqsPerSec) total.numReqsPerSec.set(k, (total.numReqsPerSec.get(k) ?? 0) + v)
  }
  return total
}

function simulateWorker(index: number): () => Promise<void> {
  const nodeId = makeNodeId(`bench${index % 4}`)
  const socket = WorkerSocket.connect({ host: values.host, port: Number(values.port), nodeId })
  let state: WorkerState = 'ready'
  let users: Record<string, number> = { Voter: 0 }
  let timers: NodeJS.Timeout[] = []
  let acked = false
  const horde = simulatedHordeWorker(Date.now())
  const random = seededRandom(index + 1)
  let lastReportMs = Date.now()
  const sendStats = (): void => {
    const running = Object.values(users).reduce((a, b) => a + b, 0)
    if (hordeShape && sourceCount > 0 && running > 0) {
      const report = { ...sharedReport(index, running), userClassesCount: users, userCount: running }
      lastReportMs = Date.now()
      requestsReported += report.statsTotal.numRequests
      socket.send({ type: 'stats', report })
      return
    }
    if (hordeShape) {
      const nowMs = Date.now()
      const report = simulatedReport(horde, random, {
        endMs: nowMs,
        intervalMs: Math.max(1, nowMs - lastReportMs),
        requests: running > 0 ? perEndpoint * endpointCount : 0,
        endpoints: endpointCount,
        userCount: running,
      })
      lastReportMs = nowMs
      report.userClassesCount = users
      requestsReported += report.statsTotal.numRequests
      socket.send({ type: 'stats', report })
      return
    }
    const nowSec = Math.floor(Date.now() / 1000)
    const stats =
      running > 0
        ? Array.from({ length: endpointCount }, (_, e) =>
            entry(`/endpoint/${e}`, e % 3 === 0 ? 'POST' : 'GET', perEndpoint, nowSec),
          )
        : []
    for (const s of stats) requestsReported += s.numRequests
    socket.send({
      type: 'stats',
      report: {
        stats,
        statsTotal: merged(stats, nowSec),
        errors: new Map(),
        userClassesCount: users,
        userCount: running,
        extra: {},
      },
    })
  }
  socket.onMessage((message) => {
    switch (message.type) {
      case 'ack':
        if (acked) return
        acked = true
        // Spread the workers' timers like real workers started at different times: heartbeats within their
        // 1 s period (a real worker never goes quiet for longer, and a Horde master counts a worker missing
        // after 3 s without one), stats within their 3 s period.
        setTimeout(() => {
          let lastBeatMs = Date.now()
          timers.push(
            setInterval(() => {
              const nowMs = Date.now()
              const gapMs = nowMs - lastBeatMs
              lastBeatMs = nowMs
              if (gapMs > heartbeatGapMaxMs) heartbeatGapMaxMs = gapMs
              if (gapMs > 2000) heartbeatGapsOver2s++
              if (gapMs > 3000) heartbeatGapsOver3s++
              socket.send({ type: 'heartbeat', state, cpuPercent: 3, memoryBytes: 50_000_000 })
            }, 1000),
          )
        }, Math.random() * 1000)
        setTimeout(
          () => timers.push(setInterval(sendStats, 3000)),
          values.burst ? 3000 - (Date.now() % 3000) : Math.random() * 3000,
        )
        return
      case 'spawn':
        socket.send({ type: 'spawning' })
        users = { ...message.userClassesCount }
        state = 'running'
        socket.send({
          type: 'spawningComplete',
          userClassesCount: users,
          userCount: Object.values(users).reduce((a, b) => a + b, 0),
        })
        return
      case 'stop':
        users = Object.fromEntries(Object.keys(users).map((k) => [k, 0]))
        state = 'ready'
        socket.send({ type: 'clientStopped' })
        socket.send({ type: 'clientReady', version: -1 })
        return
      case 'quit':
        if (timers.length === 0 && state === 'ready' && !acked) return
        for (const t of timers) clearInterval(t)
        timers = []
        sendStats()
        socket.send({ type: 'quit' })
        quitCount++
        acked = false
        state = 'ready'
        return
      default:
    }
  })
  socket.send({ type: 'clientReady', version: -1 })
  return async () => {
    for (const t of timers) clearInterval(t)
    await socket.close({ lingerMs: 200 })
  }
}

const firstIndex = Number(values['first-index'])
const closers = Array.from({ length: workerCount }, (_, i) => simulateWorker(firstIndex + i))
let finishing = false
const finish = async (): Promise<void> => {
  if (finishing) return
  finishing = true
  const ms = (ns: number): number => Math.round(ns / 1e5) / 10
  process.stdout.write(
    `${JSON.stringify({
      workers: workerCount,
      requestsReported,
      quitCount,
      heartbeatGapMaxMs,
      heartbeatGapsOver2s,
      heartbeatGapsOver3s,
      loopDelayP99Ms: ms(generatorLoop.percentile(99)),
      loopDelayMaxMs: ms(generatorLoop.max),
    })}\n`,
  )
  // The summary goes first: closing 250 sockets can outlast the bench's patience.
  await Promise.all(closers.map((close) => close()))
  process.exit(0)
}
const watch = setInterval(() => {
  if (quitCount >= workerCount) {
    clearInterval(watch)
    void finish()
  }
}, 200)
setTimeout(() => void finish(), Number(values['max-seconds']) * 1000)
process.on('SIGTERM', () => void finish())
process.on('SIGINT', () => void finish())
