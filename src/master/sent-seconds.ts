import type { TimePoint } from '../shared/result.js'
import type { SecondBin } from './second-bin.js'
import type { OpenModelStats } from './open-model-stats.js'

/**
 * What the live metrics already sent for each second, so that a second changed afterwards is sent again.
 *
 * The rule: a second goes out LIVE_METRICS_LAG_SECONDS after it ended, but a worker's report can arrive later
 * still (a slow worker, a Locust worker with a longer report interval, a stalled event loop) and add to a
 * second already sent. Gauges carry the second's own DogStatsD timestamp, and Datadog keeps the last value sent
 * for a timestamp, so sending the corrected second again replaces it: no holding back, and what Datadog shows
 * ends equal to result.json's time series.
 *
 * A change is noticed from what a late report always adds: requests and failures (every stats entry a worker
 * sends has at least one) and, in the open model, started and dropped iterations. Checking that costs a few
 * lookups per recent second, not a recomputed point.
 */
interface SentSecond {
  /** The point as sent, without the per-endpoint part (never sent as a metric). */
  readonly point: TimePoint
  readonly requests: number
  readonly failures: number
  readonly started: number
  readonly dropped: number
}

export class SentSeconds {
  readonly #sent = new Map<number, SentSecond>()

  record(point: TimePoint, bin: SecondBin | undefined, open: OpenModelStats | null): void {
    const second = point.timeMs / 1000
    const { endpoints: _endpoints, ...kept } = point
    const counts = open?.iterations.get(second)
    this.#sent.set(second, {
      point: kept,
      requests: bin?.requests ?? 0,
      failures: bin?.failures ?? 0,
      started: counts?.started ?? 0,
      dropped: counts?.dropped ?? 0,
    })
  }

  /** The point sent for a second, if any (the previous second's, for users and workers carried forward). */
  point(second: number): TimePoint | undefined {
    return this.#sent.get(second)?.point
  }

  /** Whether the second's data changed since it was sent (false for a second never sent). */
  changed(second: number, bin: SecondBin | undefined, open: OpenModelStats | null): boolean {
    const sent = this.#sent.get(second)
    if (sent === undefined) return false
    const counts = open?.iterations.get(second)
    return (
      (bin?.requests ?? 0) !== sent.requests ||
      (bin?.failures ?? 0) !== sent.failures ||
      (counts?.started ?? 0) !== sent.started ||
      (counts?.dropped ?? 0) !== sent.dropped
    )
  }

  /** Whether the final point differs, in anything sent as a metric, from what was sent (or was never sent). */
  differs(
    point: TimePoint,
    metricValues: (p: TimePoint) => ReadonlyArray<number | null | undefined>,
  ): boolean {
    const sent = this.#sent.get(point.timeMs / 1000)
    if (sent === undefined) return true
    const before = metricValues(sent.point)
    return metricValues(point).some((v, i) => (v ?? null) !== (before[i] ?? null))
  }
}
