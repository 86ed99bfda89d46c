/**
 * A throughput cap shared by every user of one worker (JdbcRunner's `throttle`, this worker's share of the
 * run's tps): task starts are spaced `1000 / tps` ms apart, whatever the number of users. A schedule rather
 * than a bucket of tokens: a reservation is O(1) and allocates nothing, and users that find no free slot sleep
 * until theirs, so the cap holds without polling. No burst: a slot missed while users were busy is not
 * made up later (a cap, not a target).
 */
export class Throttle {
  #intervalMs = 0
  #nextAtMs = 0

  /**
   * This worker's share in tasks per second; 0 or less lifts the cap. The master re-sends the share with every
   * ramp step: the schedule carries on (slots already handed out stay taken), or each re-send would open a
   * fresh slot next to the reserved ones and the cap would burst during a ramp.
   */
  setTps(tps: number): void {
    this.#intervalMs = tps > 0 ? 1000 / tps : 0
    if (this.#intervalMs === 0) this.#nextAtMs = 0
  }

  get tps(): number {
    return this.#intervalMs > 0 ? 1000 / this.#intervalMs : 0
  }

  /** Reserves the next start slot; returns how long to wait for it (0: start now). */
  reserve(nowMs: number = performance.now()): number {
    if (this.#intervalMs === 0) return 0
    const at = Math.max(nowMs, this.#nextAtMs)
    this.#nextAtMs = at + this.#intervalMs
    return at - nowMs
  }
}
