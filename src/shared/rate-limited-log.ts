import type { Logger } from './logger.js'

/**
 * A warning that may fire thousands of times a second (garbage frames from a stray or hostile peer, a
 * refused join retried every few seconds): the first one of an interval is logged with its fields, later
 * ones are only counted, and one summary line with the count closes the interval. 5,000 bad frames cost
 * two log lines, not 5,000.
 */
export class RateLimitedWarning {
  private windowStartMs = -Infinity
  private suppressed = 0
  private lastFields: Record<string, unknown> = {}
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly intervalMs = 10_000,
  ) {}

  /** Total warnings noted so far (logged or counted). */
  total = 0

  note(fields: Record<string, unknown>): void {
    this.total++
    const now = Date.now()
    if (now - this.windowStartMs >= this.intervalMs && this.timer === null) {
      this.windowStartMs = now
      this.log.warn(fields, this.message)
      return
    }
    this.suppressed++
    this.lastFields = fields
    // The summary is written when the interval ends, even if nothing else arrives after the burst.
    this.timer ??= setTimeout(() => this.summarize(), Math.max(0, this.windowStartMs + this.intervalMs - now))
    this.timer.unref()
  }

  /** Writes the pending summary now (at shutdown) and stops the timer. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.summarize()
  }

  private summarize(): void {
    this.timer = null
    if (this.suppressed === 0) return
    const count = this.suppressed
    this.suppressed = 0
    this.windowStartMs = Date.now()
    this.log.warn(
      { ...this.lastFields, suppressed: count, intervalMs: this.intervalMs },
      `${this.message} (${count} more in the last ${Math.round(this.intervalMs / 1000)} s, not logged one by one)`,
    )
  }
}
