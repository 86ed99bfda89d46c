import type { Logger } from '../shared/logger.js'
import type { AbortThresholds } from './abort-thresholds.js'
import type { StatsAggregator } from './aggregator.js'
import type { MeasuredWindow } from './measured-window.js'
import type { RunEnding } from './run-ending.js'
import type { RunState } from './run-state.js'
import type { Asked, SecondSampler } from './second-sampler.js'
import type { StatsIntake } from './stats-intake.js'
import type { WorkerHealthWatch } from './worker-health.js'
import type { WorkerRegistry } from './worker-registry.js'

/** The parts the master's clock drives (the coordinator builds them; the ticker only calls them in order). */
export interface TickParts {
  readonly state: RunState
  readonly registry: WorkerRegistry
  readonly aggregator: StatsAggregator
  readonly intake: StatsIntake
  readonly health: WorkerHealthWatch
  readonly window: MeasuredWindow
  readonly sampler: SecondSampler
  readonly abort: AbortThresholds
  readonly ending: RunEnding
  readonly log: Logger
  /** Applies the stage (or constant target, or rate) in force now. */
  readonly applySchedule: (nowMs: number) => void
  /** What the planner or the splitter asks for this second. */
  readonly asked: () => Asked
}

/**
 * The master's clock while a run lives: every second it checks stats intake, liveness, generator health, the
 * schedule, the warm-up, samples the second and checks abortOnFail thresholds, in that order; liveness alone
 * is also checked four times a second so a lost worker's load moves within a heartbeat timeout. A throw in one
 * turn is logged and the clock goes on: the master must outlive a bug in one of its parts.
 */
export class RunTicker {
  readonly #parts: TickParts
  #timers: NodeJS.Timeout[] = []

  constructor(parts: TickParts) {
    this.#parts = parts
  }

  start(): void {
    this.#timers = [
      setInterval(() => this.#safely(() => this.#everySecond(Date.now())), 1000),
      setInterval(() => this.#safely(() => this.#checkLiveness(Date.now())), 250),
    ]
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer)
  }

  #everySecond(now: number): void {
    const { state, intake, health, window, sampler } = this.#parts
    intake.checkBehind(now)
    this.#checkLiveness(now)
    health.everySecond(now, state.phase === 'running')
    this.#parts.applySchedule(now)
    window.checkWarmup(now)
    sampler.sample(now, this.#parts.asked())
    this.#checkAbortThresholds(now)
  }

  #safely(fn: () => void): void {
    try {
      fn()
    } catch (error) {
      this.#parts.log.error({ err: error }, 'master tick failed')
    }
  }

  #checkLiveness(now: number): void {
    const { health, registry, state } = this.#parts
    health.onLiveness(registry.sweep(now), state.phase === 'running')
  }

  #checkAbortThresholds(now: number): void {
    const { state, abort, aggregator, window, ending } = this.#parts
    if (state.phase !== 'running' || state.loadStartMs === null) return
    const result = abort.check(aggregator.measured, now, window.fromMs)
    if (result !== null) ending.abort(result)
  }
}
