/**
 * The master's per-report cost and its memory over a long run, in simulated time (no sockets, no waiting): W
 * workers × E endpoints report every 3 s for M minutes; each report is built by the worker's own encoder
 * (bench/horde-worker-reports.ts), packed to a real frame, then decoded and merged exactly as the master does
 * (codec → decodeHordeExtension once → StatsAggregator.addReport). Prints the CPU time per report (p50, p99, max:
 * the longest merge is the longest slice a report can add to a master loop turn), the RSS at the end, and the
 * time series built from it. Not part of the test suite.
 *
 *   node --expose-gc --import tsx bench/master-merge-bench.ts [--workers 200] [--endpoints 200] [--minutes 60]
 */
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { StatsAggregator } from '../src/master/aggregator.js'
import { decodeFromWorker, encodeToMaster } from '../src/protocol/codec.js'
import { decodeHordeExtension } from '../src/protocol/horde-extension.js'
import { seededRandom, simulatedHordeWorker, simulatedReport } from './horde-worker-reports.js'

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '200' },
    endpoints: { type: 'string', default: '200' },
    minutes: { type: 'string', default: '60' },
    'requests-per-report': { type: 'string', default: '600' },
  },
})
const workerCount = Number(values.workers)
const endpoints = Number(values.endpoints)
const reportsPerWorker = Math.round((Number(values.minutes) * 60) / 3)
const requests = Number(values['requests-per-report'])
const startMs = 1_767_225_600_000
const gc = (globalThis as { gc?: () => void }).gc

const aggregator = new StatsAggregator()
const workers = Array.from({ length: workerCount }, () => simulatedHordeWorker(startMs))
const randoms = Array.from({ length: workerCount }, (_, i) => seededRandom(i + 1))
const mergeMs: number[] = []
/** The codec's share (msgpack + Locust field validation) of each report's cost. */
const decodeMs: number[] = []
let frameBytes = 0
let peakRssBytes = 0
const wall0 = performance.now()
for (let r = 1; r <= reportsPerWorker; r++) {
  for (let w = 0; w < workerCount; w++) {
    // Workers' reports are spread over the 3 s interval, as real workers started at different times are.
    const endMs = startMs + r * 3000 + Math.floor((w * 3000) / workerCount)
    const report = simulatedReport(workers[w]!, randoms[w]!, {
      endMs,
      intervalMs: 3000,
      requests,
      endpoints,
      userCount: 1,
    })
    const frame = encodeToMaster(`w${w}`, { type: 'stats', report })
    frameBytes = frame.length
    const t0 = performance.now()
    const decoded = decodeFromWorker(frame)
    if (!decoded.ok || decoded.envelope.message.type !== 'stats') throw new Error('frame did not decode')
    const received = decoded.envelope.message.report
    const t1 = performance.now()
    decodeMs.push(t1 - t0)
    aggregator.addReport(`w${w}`, received, endMs, decodeHordeExtension(received.extra))
    mergeMs.push(performance.now() - t0)
  }
  if (r % 100 === 0) {
    const rssNow = process.memoryUsage().rss
    peakRssBytes = Math.max(peakRssBytes, rssNow)
    // Progress on stderr, so a run cut short still shows how memory grew with simulated time.
    process.stderr.write(
      `${JSON.stringify({ simulatedMinute: (r * 3) / 60, rssMb: Math.round(rssNow / 1e6) })}\n`,
    )
  }
}
const wallS = (performance.now() - wall0) / 1000
gc?.()
const rss = process.memoryUsage().rss
peakRssBytes = Math.max(peakRssBytes, rss)
const sorted = mergeMs.sort((a, b) => a - b)
const pct = (p: number) => Math.round((sorted[Math.ceil((p / 100) * sorted.length) - 1] ?? 0) * 1000) / 1000
const total = aggregator.measured.total
const mb = (bytes: number) => Math.round(bytes / 1e6)
process.stdout.write(
  `${JSON.stringify({
    workers: workerCount,
    endpoints,
    simulatedMinutes: Number(values.minutes),
    reportsMerged: mergeMs.length,
    requestsMerged: total.requests,
    frameBytes,
    decodeAndMergeMsPerReport: { p50: pct(50), p99: pct(99), max: pct(100) },
    // The CPU a live master would spend on this: reports per second × cost per report.
    codecMsPerReportAvg: Math.round((decodeMs.reduce((a, b) => a + b, 0) / decodeMs.length) * 1000) / 1000,
    decodeAndMergeMsPerReportAvg:
      Math.round((mergeMs.reduce((a, b) => a + b, 0) / mergeMs.length) * 1000) / 1000,
    masterCorePercentForMerging: Math.round(
      ((workerCount / 3) * (mergeMs.reduce((a, b) => a + b, 0) / mergeMs.length)) / 10,
    ),
    secondsKept: aggregator.seconds.size,
    secondsSealed: [...aggregator.seconds.values()].filter((b) => b.sealed).length,
    highResolution: total.highResolution,
    p95Ms: total.percentileMs(0.95),
    rssMbAfterGc: mb(rss),
    peakRssMb: mb(peakRssBytes),
    wallSeconds: Math.round(wallS),
  })}\n`,
)
