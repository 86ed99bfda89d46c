/**
 * What the Horde extension costs a worker every 3 s: StatsHistograms.take() (encode the second in progress and
 * gather the seconds encoded as they completed), each completed second's encoding (secondSealMs) and the msgpack encoding of the whole stats frame, at 200 endpoints and a given request
 * rate, through the worker's own RequestStats / StatsHistograms on a simulated clock. Not part of the test suite.
 *
 *   npx tsx bench/worker-encode-bench.ts [--endpoints 200] [--rps 2000] [--reports 40]
 */
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { encodeToMaster } from '../src/protocol/codec.js'
import { RequestStats } from '../src/worker/stats.js'
import { StatsHistograms } from '../src/worker/stats-histograms.js'
import { realisticResponseTimeMs, seededRandom } from './horde-worker-reports.js'

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '200' },
    rps: { type: 'string', default: '2000' },
    reports: { type: 'string', default: '40' },
  },
})
const endpoints = Number(values.endpoints)
const rps = Number(values.rps)
const reports = Number(values.reports)

let now = 1_767_225_600_000
const stats = new RequestStats(() => now)
const histograms = new StatsHistograms(() => now)
stats.onLog = (entry, responseTimeMs, _failed, lagMs) => histograms.record(entry, responseTimeMs, lagMs)
const random = seededRandom(7)
const names = Array.from({ length: endpoints }, (_, i) => `/endpoint/${i}`)
const takeMs: number[] = []
const frameMs: number[] = []
/** Encoding a completed second's histograms (once per second, inside the first request of the next one). */
const sealMs: number[] = []
let frameBytes = 0
let recordNs = 0
for (let r = 0; r < reports; r++) {
  const requests = rps * 3
  const t0 = performance.now()
  let sealNs = 0
  for (let i = 0; i < requests; i++) {
    const second = Math.floor(now / 1000)
    now += 3000 / requests
    const name = names[i % endpoints] as string
    const responseTimeMs = realisticResponseTimeMs(random, 5 + (i % 10) * 12)
    if (Math.floor(now / 1000) === second) {
      stats.log('GET', name, responseTimeMs, 512, null)
      continue
    }
    // The first request of a new second also encodes the second before it (incremental encoding): timed
    // apart, as it is a pause of its own in the worker's loop.
    const s0 = performance.now()
    stats.log('GET', name, responseTimeMs, 512, null)
    const took = performance.now() - s0
    sealNs += took * 1e6
    if (r >= 5) sealMs.push(took)
  }
  recordNs = ((performance.now() - t0) * 1e6 - sealNs) / requests
  const t1 = performance.now()
  const extension = histograms.take(3)
  const t2 = performance.now()
  const delta = stats.takeDelta()
  const frame = encodeToMaster('worker-1', {
    type: 'stats',
    report: {
      stats: delta.stats,
      statsTotal: delta.statsTotal,
      errors: delta.errors,
      userClassesCount: { Voter: 10 },
      userCount: 10,
      extra: { horde: extension },
    },
  })
  const t3 = performance.now()
  if (r >= 5) {
    takeMs.push(t2 - t1)
    frameMs.push(t3 - t2)
  }
  frameBytes = frame.length
}
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.ceil((p / 100) * xs.length) - 1] ?? 0
const r2 = (x: number) => Math.round(x * 100) / 100
process.stdout.write(
  `${JSON.stringify({
    endpoints,
    rps,
    extensionTakeMs: { p50: r2(pct(takeMs, 50)), max: r2(Math.max(...takeMs)) },
    secondSealMs: { p50: r2(pct(sealMs, 50)), max: r2(Math.max(...sealMs)) },
    locustDeltaPlusFrameEncodeMs: { p50: r2(pct(frameMs, 50)), max: r2(Math.max(...frameMs)) },
    frameBytes,
    perRequestRecordNsIncludingSampleGeneration: Math.round(recordNs),
  })}\n`,
)
