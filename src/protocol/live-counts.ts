/**
 * Live request counts on the heartbeat: a Horde worker adds `horde_live: [requests, failures]` (cumulative since
 * it started, never reset) to the heartbeat it sends every second, so a Horde master can show a live rate in its
 * progress line from the first second instead of waiting for 3 s stats reports and the seconds they settle. No
 * extra message: Locust masters read `state`, `current_cpu_usage` and `current_memory_usage` from a heartbeat by
 * key and ignore other keys (locust-protocol.md §3.3.2), so a Locust master neither logs nor chokes on it.
 * Cumulative counters survive a lost heartbeat: the master takes differences.
 */
export const HORDE_LIVE_KEY = 'horde_live'

export interface LiveCounts {
  /** Requests completed since the worker started (all types). */
  requests: number
  /** Of which failed. */
  failures: number
}

export function liveCountsToWire(counts: LiveCounts): [number, number] {
  return [counts.requests, counts.failures]
}

/**
 * The counts a heartbeat carried, or undefined when it carried none or something else: a bad `horde_live` never
 * costs the heartbeat itself (liveness matters more than a progress line).
 */
export function liveCountsFromWire(value: unknown): LiveCounts | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined
  const [requests, failures] = value as unknown[]
  if (typeof requests !== 'number' || typeof failures !== 'number') return undefined
  if (!(requests >= 0 && failures >= 0 && failures <= requests && Number.isFinite(requests))) return undefined
  return { requests, failures }
}
