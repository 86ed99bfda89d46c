import type { LiveCounts } from '../protocol/live-counts.js'

/** Heartbeats come every second: a few seconds of them give a steady rate. */
const SAMPLES_PER_WORKER = 8

/**
 * The live request rate for the progress line, from the cumulative counts Horde workers put on every heartbeat
 * (live-counts.ts). Stats reports come every 3 s and a second is complete only once every worker has reported
 * it, so a rate from merged stats lags 4–6 s (0.0 for the first lines of a run); this one is current. It is used
 * only for the progress line: results, thresholds and the time series still come from the merged reports.
 * A fixed ring of samples per worker: no allocation per heartbeat once a worker is known.
 */
export class LiveRate {
  readonly #workers = new Map<string, Float64Array>()

  /** Records a heartbeat's counts received at `atMs`. */
  note(workerId: string, atMs: number, counts: LiveCounts): void {
    let ring = this.#workers.get(workerId)
    if (ring === undefined) {
      // Slot 0: samples written so far; then [atMs, requests, failures] per sample.
      ring = new Float64Array(1 + 3 * SAMPLES_PER_WORKER)
      this.#workers.set(workerId, ring)
    }
    const written = ring[0] as number
    const at = 1 + 3 * (written % SAMPLES_PER_WORKER)
    ring[at] = atMs
    ring[at + 1] = counts.requests
    ring[at + 2] = counts.failures
    ring[0] = written + 1
  }

  /**
   * Requests and failures per second over about the last `windowMs`, summed over `workerIds`; null unless every
   * one of them sends live counts (a Locust worker does not), since a partial sum would understate the rate.
   */
  rate(nowMs: number, windowMs: number, workerIds: readonly string[]): LiveCounts | null {
    if (workerIds.length === 0) return null
    let requests = 0
    let failures = 0
    for (const id of workerIds) {
      const ring = this.#workers.get(id)
      if (ring === undefined) return null
      const written = ring[0] as number
      const newest = 1 + 3 * ((written - 1) % SAMPLES_PER_WORKER)
      // The oldest sample still inside the window (at least one interval back from the newest).
      let oldest = newest
      for (let back = 1; back < Math.min(written, SAMPLES_PER_WORKER); back++) {
        const slot = 1 + 3 * ((written - 1 - back) % SAMPLES_PER_WORKER)
        if (nowMs - (ring[slot] as number) > windowMs) {
          if (oldest === newest) oldest = slot
          break
        }
        oldest = slot
      }
      const spanMs = (ring[newest] as number) - (ring[oldest] as number)
      if (spanMs <= 0) continue
      // A worker that restarted its counters (a new process under the same id) shows a drop: skip it once.
      const deltaRequests = (ring[newest + 1] as number) - (ring[oldest + 1] as number)
      const deltaFailures = (ring[newest + 2] as number) - (ring[oldest + 2] as number)
      if (deltaRequests < 0 || deltaFailures < 0) continue
      requests += (deltaRequests * 1000) / spanMs
      failures += (deltaFailures * 1000) / spanMs
    }
    return { requests, failures }
  }
}
