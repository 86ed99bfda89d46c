/**
 * Locust's response-time bucketing (stats.py `bucket_response_time`), which every Locust master uses to build
 * percentiles: exact below 100 ms, then rounded to 10 / 100 / 1000 ms. Python's round() is half-to-even
 * (145 → 140, 155 → 160, 12.5 → 12), and Boomer's half-up differs; we match Python so mixed fleets agree.
 */
export function bucketResponseTime(responseTimeMs: number): number {
  if (responseTimeMs < 100) return roundHalfEven(responseTimeMs, 1)
  if (responseTimeMs < 1000) return roundHalfEven(responseTimeMs, 10)
  if (responseTimeMs < 10_000) return roundHalfEven(responseTimeMs, 100)
  return roundHalfEven(responseTimeMs, 1000)
}

/** Rounds to the nearest multiple of `step`, ties to the even multiple, as Python's round(x, -n). */
export function roundHalfEven(value: number, step: number): number {
  const scaled = value / step
  const floor = Math.floor(scaled)
  const diff = scaled - floor
  let rounded: number
  if (diff > 0.5) rounded = floor + 1
  else if (diff < 0.5) rounded = floor
  else rounded = floor % 2 === 0 ? floor : floor + 1
  return rounded * step
}
