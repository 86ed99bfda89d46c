/**
 * Where the open model's arrivals fall in time. The rate ramps linearly from `fromRps` to `toRps` over
 * `rampMs`, then holds. Arrival k (0-based) is due at the time the integral of the rate reaches k + 1, so
 * the schedule never drifts: it is computed from the segment start, not by adding up timer delays.
 */
export class ArrivalSchedule {
  private startMs: number
  private fromRps: number
  private toRps: number
  private rampMs: number
  /** Arrivals due before the current segment began (carried over on retarget). */
  private carried: number

  constructor(nowMs: number, rps: number) {
    this.startMs = nowMs
    this.fromRps = rps
    this.toRps = rps
    this.rampMs = 0
    this.carried = 0
  }

  /** The rate at `nowMs`. */
  rateAt(nowMs: number): number {
    const t = Math.max(0, nowMs - this.startMs)
    if (this.rampMs <= 0 || t >= this.rampMs) return this.toRps
    return this.fromRps + ((this.toRps - this.fromRps) * t) / this.rampMs
  }

  /** Total arrivals due by `nowMs` since the schedule began (fractional). */
  dueBy(nowMs: number): number {
    const t = Math.max(0, nowMs - this.startMs)
    const ramp = Math.min(t, this.rampMs)
    // Area under the linear ramp, then under the flat part; rates per second, times in ms.
    const rampArea =
      this.rampMs > 0
        ? (this.fromRps * ramp + ((this.toRps - this.fromRps) * ramp * ramp) / (2 * this.rampMs)) / 1000
        : 0
    const flatArea = (this.toRps * Math.max(0, t - this.rampMs)) / 1000
    return this.carried + rampArea + flatArea
  }

  /**
   * When arrival number `index` (0-based, counted since the schedule began) is due, in ms; Infinity if the
   * rate is 0 from here on. Inverts dueBy.
   */
  dueAt(index: number): number {
    const target = index + 1 - this.carried
    if (target <= 0) return this.startMs
    const rampArea = this.rampMs > 0 ? ((this.fromRps + this.toRps) / 2) * (this.rampMs / 1000) : 0
    if (this.rampMs > 0 && target <= rampArea) {
      // Solve fromRps·t + (Δ/2R)·t² = target·1000 for t (ms), Δ = toRps − fromRps, R = rampMs.
      const a = (this.toRps - this.fromRps) / (2 * this.rampMs)
      const b = this.fromRps
      const c = -target * 1000
      const t = a === 0 ? -c / b : (-b + Math.sqrt(Math.max(0, b * b - 4 * a * c))) / (2 * a)
      return this.startMs + t
    }
    if (this.toRps <= 0) return Infinity
    return this.startMs + this.rampMs + ((target - rampArea) * 1000) / this.toRps
  }

  /** Changes the target: ramps linearly from the current rate to `rps` over `rampMs`, starting now. */
  retarget(nowMs: number, rps: number, rampMs: number): void {
    this.carried = this.dueBy(nowMs)
    this.fromRps = this.rateAt(nowMs)
    this.toRps = rps
    this.rampMs = rampMs
    this.startMs = nowMs
  }
}
