import { describe, expect, it } from 'vitest'
import { bucketResponseTime } from '../../src/protocol/buckets.js'
import { LogHistogram } from '../../src/protocol/log-histogram.js'
import type { StatsEntryWire } from '../../src/protocol/messages.js'
import { StatsRow, bucketHistogram } from '../../src/master/stats-row.js'

/** One worker's entry for `samplesMs` and, for a Horde worker, the histogram it sends with it. */
function entry(samplesMs: number[]): { entry: StatsEntryWire; wire: Uint8Array } {
  const responseTimes = new Map<number, number>()
  const histogram = new LogHistogram()
  for (const ms of samplesMs) {
    const bucket = bucketResponseTime(ms)
    responseTimes.set(bucket, (responseTimes.get(bucket) ?? 0) + 1)
    histogram.recordMs(ms)
  }
  return {
    entry: {
      name: '/vote',
      method: 'POST',
      lastRequestTimestamp: 1,
      startTime: 0,
      numRequests: samplesMs.length,
      numNoneRequests: 0,
      numFailures: 0,
      totalResponseTime: samplesMs.reduce((a, b) => a + b, 0),
      maxResponseTime: Math.max(...samplesMs),
      minResponseTime: Math.min(...samplesMs),
      totalContentLength: 0,
      responseTimes,
      numReqsPerSec: new Map([[1, samplesMs.length]]),
      numFailPerSec: new Map(),
    },
    wire: histogram.toWire(),
  }
}

const whole = (requests: number) => ({ requests, failures: 0, from: 0, to: 1 })

describe('a lean row (a second of the time series)', () => {
  const horde = entry([10, 20, 20, 250, 250, 250, 3000])
  const locust = entry([40, 40, 700])

  it('keeps Horde shares in the histogram only, and falls back to exactly the Locust buckets when a Locust share arrives', () => {
    const lean = new StatsRow('POST', '/vote', true)
    const full = new StatsRow('POST', '/vote')
    for (const row of [lean, full]) row.addShare(horde.entry, whole(7), [horde.wire])
    expect(lean.buckets.size).toBe(0)
    expect(lean.highResolution).toBe(true)
    expect(lean.percentileMs(0.95)).toBeCloseTo(full.percentileMs(0.95) as number, 6)
    // Written out (histogram.csv), its buckets come from the histogram: the same as Locust's for these values.
    expect(bucketHistogram(lean)).toEqual(bucketHistogram(full))

    for (const row of [lean, full]) row.addShare(locust.entry, whole(3), null)
    expect(lean.highResolution).toBe(false)
    expect(bucketHistogram(lean)).toEqual(bucketHistogram(full))
    for (const p of [0.5, 0.9, 0.95, 0.99]) expect(lean.percentileMs(p)).toBe(full.percentileMs(p))
  })

  it('hands its histogram-only shares to a total that has to fall back to Locust buckets', () => {
    const hordeRow = new StatsRow('POST', '/vote', true)
    hordeRow.addShare(horde.entry, whole(7), [horde.wire])
    const locustRow = new StatsRow('GET', '/results', true)
    locustRow.addShare(locust.entry, whole(3), null)
    const expected = new StatsRow('', 'Aggregated')
    const full = new StatsRow('POST', '/vote')
    full.addShare(horde.entry, whole(7), [horde.wire])
    expected.addRow(full)
    expected.addRow(locustRow)
    for (const order of [
      [hordeRow, locustRow],
      [locustRow, hordeRow],
    ]) {
      const total = new StatsRow('', 'Aggregated', true)
      for (const row of order) total.addRow(row)
      expect(total.requests).toBe(10)
      expect(bucketHistogram(total)).toEqual(bucketHistogram(expected))
    }
  })
})
