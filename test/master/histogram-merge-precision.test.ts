import { describe, expect, it } from 'vitest'
import {
  realisticResponseTimeMs,
  seededRandom,
  simulatedHordeWorker,
} from '../../bench/horde-worker-reports.js'
import { StatsAggregator } from '../../src/master/aggregator.js'
import { decodeFromWorker, encodeToMaster } from '../../src/protocol/codec.js'
import { HORDE_PERCENTILE_ERROR_BOUND } from '../../src/protocol/horde-extension.js'

/** Nearest-rank percentile of the raw samples (rounded to the µs, as both ends record them). */
function exactPercentileMs(sorted: readonly number[], percentile: number): number {
  const rank = Math.max(1, Math.ceil((percentile / 100) * sorted.length - 1e-9))
  return sorted[rank - 1] as number
}

const PERCENTILES = [0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]
/** The stated bound, plus half a microsecond of rounding each sample to the µs. */
const withinBound = (value: number, exact: number) =>
  Math.abs(value - exact) <= HORDE_PERCENTILE_ERROR_BOUND * exact + 0.0005 + 1e-9

describe('merged Horde histograms', () => {
  it('keep every percentile of 24 workers within the stated 0.5 % of the exact percentile of all raw samples', () => {
    const startMs = 1_767_225_600_000
    const aggregator = new StatsAggregator()
    const rawByEndpoint = new Map<string, number[]>()
    const rawAll: number[] = []
    const rawBySecond = new Map<number, number[]>()
    for (let w = 0; w < 24; w++) {
      const random = seededRandom(1000 + w)
      const worker = simulatedHordeWorker(startMs)
      // Each worker has its own latency profile (some slow, some sub-millisecond): merging must not care.
      const medianMs = [0.08, 0.9, 4, 25, 180, 1200][w % 6] as number
      for (let report = 0; report < 4; report++) {
        for (let i = 0; i < 900; i++) {
          const endpoint = `/e/${(i * 7 + w) % 12}`
          const atMs = startMs + report * 3000 + (i * 3000) / 900
          const responseTimeMs = realisticResponseTimeMs(random, medianMs)
          worker.log('GET', endpoint, responseTimeMs, atMs)
          const recorded = Math.round(responseTimeMs * 1000) / 1000
          const list = rawByEndpoint.get(endpoint) ?? []
          list.push(recorded)
          rawByEndpoint.set(endpoint, list)
          rawAll.push(recorded)
          const second = Math.floor(atMs / 1000)
          const inSecond = rawBySecond.get(second) ?? []
          inSecond.push(recorded)
          rawBySecond.set(second, inSecond)
        }
        // Through the real wire: msgpack out of the worker's encoder, the master's decoder.
        const frame = encodeToMaster(`w${w}`, { type: 'stats', report: worker.takeReport(1) })
        const decoded = decodeFromWorker(frame)
        if (!decoded.ok || decoded.envelope.message.type !== 'stats') throw new Error('report did not decode')
        aggregator.addReport(`w${w}`, decoded.envelope.message.report, startMs + (report + 1) * 3000)
      }
    }
    const checked: Array<[string, number, number, number]> = []
    for (const [endpoint, samples] of rawByEndpoint) {
      const row = aggregator.measured.row('GET', endpoint)
      expect(row.highResolution).toBe(true)
      const sorted = [...samples].sort((a, b) => a - b)
      for (const p of PERCENTILES) {
        checked.push([endpoint, p, row.percentileMs(p / 100) as number, exactPercentileMs(sorted, p)])
      }
    }
    const sortedAll = [...rawAll].sort((a, b) => a - b)
    const total = aggregator.measured.total
    expect(total.highResolution).toBe(true)
    expect(total.requests).toBe(24 * 4 * 900)
    for (const p of PERCENTILES) {
      checked.push(['total', p, total.percentileMs(p / 100) as number, exactPercentileMs(sortedAll, p)])
    }
    for (const [second, samples] of rawBySecond) {
      const sorted = [...samples].sort((a, b) => a - b)
      const bin = aggregator.seconds.get(second)
      for (const p of [50, 95, 99]) {
        checked.push([
          `second ${second}`,
          p,
          bin?.percentileMs(p / 100) as number,
          exactPercentileMs(sorted, p),
        ])
      }
    }
    const outside = checked.filter(([, , value, exact]) => !withinBound(value, exact))
    expect(outside).toEqual([])
    expect(checked.length).toBeGreaterThan(12 * PERCENTILES.length)
  })
})
