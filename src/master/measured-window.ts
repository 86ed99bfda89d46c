import type { StatsAggregator } from './aggregator.js'
import type { OpenModelStats } from './open-model-stats.js'
import type { MasterPlan } from './plan.js'
import type { RunEventLog } from './run-events.js'
import type { RunState } from './run-state.js'

/**
 * When the numbers that count begin: the load's start, the warm-up after it (excluded from totals and
 * thresholds), and the first whole second of the measured window, shared by the aggregator and the open model.
 */
export class MeasuredWindow {
  readonly #plan: MasterPlan
  readonly #state: RunState
  readonly #aggregator: StatsAggregator
  readonly #open: OpenModelStats | null
  readonly #events: RunEventLog
  readonly #startedAtMs: number
  #warmupEnded = false

  constructor(
    plan: MasterPlan,
    state: RunState,
    aggregator: StatsAggregator,
    open: OpenModelStats | null,
    events: RunEventLog,
    startedAtMs: number,
  ) {
    this.#plan = plan
    this.#state = state
    this.#aggregator = aggregator
    this.#open = open
    this.#events = events
    this.#startedAtMs = startedAtMs
  }

  startLoad(nowMs: number): void {
    this.#state.phase = 'running'
    this.#state.loadStartMs = nowMs
    if (this.#plan.warmupMs > 0) {
      this.#aggregator.setMeasuredFromSec(Math.ceil((nowMs + this.#plan.warmupMs) / 1000))
    }
    if (this.#open !== null) this.#open.measuredFromSec = this.#aggregator.measuredFromSec
  }

  /** Where the measured window begins (the master's start when the load never did). */
  get fromMs(): number {
    if (this.#state.loadStartMs === null) return this.#startedAtMs
    if (this.#plan.warmupMs > 0) return this.#aggregator.measuredFromSec * 1000
    return this.#state.loadStartMs
  }

  /** Says once, in an event, that the warm-up is over. */
  checkWarmup(nowMs: number): void {
    if (this.#warmupEnded || this.#state.loadStartMs === null || this.#plan.warmupMs <= 0) return
    if (nowMs >= this.#aggregator.measuredFromSec * 1000) {
      this.#warmupEnded = true
      this.#events.emit(
        'warmup-ended',
        `warm-up of ${this.#plan.warmupMs / 1000} s ended: measuring from now`,
      )
    }
  }
}
