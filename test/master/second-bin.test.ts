import { describe, expect, it } from 'vitest'
import { seededRandom, simulatedHordeWorker, simulatedReport } from '../../bench/horde-worker-reports.js'
import { SEAL_AFTER_SECONDS, StatsAggregator } from '../../src/master/aggregator.js'

describe('per-second detail over a long run', () => {
  it('seals settled seconds into summaries that keep what the report shows, and late reports still count', () => {
    const startMs = 1_767_225_600_000
    const aggregator = new StatsAggregator()
    const workers = [1, 2, 3].map(() => simulatedHordeWorker(startMs))
    const randoms = [1, 2, 3].map(seededRandom)
    const p95BeforeSealing = new Map<number, number | null>()
    const endpointsBeforeSealing = new Map<number, string>()
    for (let report = 1; report <= 40; report++) {
      const endMs = startMs + report * 3000
      workers.forEach((worker, i) => {
        const r = simulatedReport(worker, randoms[i] as () => number, {
          endMs,
          intervalMs: 3000,
          requests: 300,
          endpoints: 20,
          userCount: 1,
        })
        aggregator.addReport(`w${i}`, r, endMs)
      })
      // Remember each second just before it could be sealed (all its reports are in by now).
      const settled = Math.floor(endMs / 1000) - 4
      const bin = aggregator.seconds.get(settled)
      if (bin !== undefined && !bin.sealed) {
        p95BeforeSealing.set(settled, bin.percentileMs(0.95))
        endpointsBeforeSealing.set(settled, JSON.stringify([...bin.endpointSeconds()]))
      }
    }
    const newest = Math.max(...aggregator.seconds.keys())
    const sealed = [...aggregator.seconds.values()].filter((bin) => bin.sealed)
    expect(sealed.length).toBeGreaterThan(60)
    for (const bin of aggregator.seconds.values()) {
      expect(bin.sealed).toBe(bin.second < newest - SEAL_AFTER_SECONDS)
      if (!bin.sealed) continue
      expect(bin.endpoints.size).toBe(0)
      expect(bin.hdr).toBeNull()
      if (p95BeforeSealing.has(bin.second)) {
        expect(bin.percentileMs(0.95)).toBe(p95BeforeSealing.get(bin.second))
        expect(JSON.stringify([...bin.endpointSeconds()])).toBe(endpointsBeforeSealing.get(bin.second))
      }
    }
    // A report about a sealed second arriving late adds its counts (not its latencies) to that second.
    const first = sealed[0]!
    const before = first.requests
    const late = simulatedHordeWorker(first.second * 1000)
    late.log('GET', '/endpoint/0', 12, first.second * 1000 + 10)
    aggregator.addReport('late', late.takeReport(1), startMs + 200_000)
    expect(first.requests).toBe(before + 1)
    expect(first.endpointSeconds().get('GET /endpoint/0')?.requests).toBeGreaterThan(0)
    // Every request is still in the measured window: sealing only drops per-second detail.
    expect(aggregator.measured.total.requests).toBe(3 * 40 * 300 + 1)
  })
})
