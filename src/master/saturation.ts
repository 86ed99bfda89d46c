import { CPU_SATURATED_PERCENT, LOOP_BLOCKED_MS } from '../shared/saturation.js'

/** Seconds older than this are forgotten: a stall is reported within one stats interval (3 s) of its end. */
const REMEMBER_SECONDS = 60

/**
 * Counts the wall-clock seconds each worker was saturated. A high CPU reading covers the second it was read in;
 * an event-loop stall covers every second it lasted: a worker blocked for 10 s reports one delay of ~10,000 ms
 * after the fact (it could send nothing meanwhile), and that is 10 saturated seconds, not one. Each second
 * counts once per worker, so a stall and the high CPU reading that comes with it are not added twice.
 */
export class SaturationCounter {
  /** Per worker: the recent epoch seconds already counted. */
  readonly #counted = new Map<string, Set<number>>()

  /** Returns how many new saturated seconds this reading adds for the worker (0 when healthy). */
  add(workerId: string, nowMs: number, cpuPercent: number, loopDelayMaxMs: number): number {
    const nowSec = Math.floor(nowMs / 1000)
    let fromSec: number
    if (loopDelayMaxMs >= LOOP_BLOCKED_MS) {
      // The stall ended by now at the latest: it covers the seconds back to its start.
      fromSec = nowSec - Math.min(REMEMBER_SECONDS, Math.max(1, Math.ceil(loopDelayMaxMs / 1000))) + 1
    } else if (cpuPercent >= CPU_SATURATED_PERCENT) {
      fromSec = nowSec
    } else {
      return 0
    }
    let seconds = this.#counted.get(workerId)
    if (seconds === undefined) {
      seconds = new Set()
      this.#counted.set(workerId, seconds)
    }
    let added = 0
    for (let second = fromSec; second <= nowSec; second++) {
      if (!seconds.has(second)) {
        seconds.add(second)
        added += 1
      }
    }
    for (const second of seconds) if (second < nowSec - REMEMBER_SECONDS) seconds.delete(second)
    return added
  }
}
