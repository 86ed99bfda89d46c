import type { MasterPlan } from './plan.js'
import type { PhaseBarrier, PhaseFailure } from './phase-barrier.js'
import type { RunEnding } from './run-ending.js'
import type { RunEventLog } from './run-events.js'

/**
 * init before the load and fin after it, as steps of the run (the barriers themselves are phase-barrier.ts).
 * A failed step is recorded for the verdict (init: invalid, fin: fail) and as an event; a failed init also
 * gives the run its stop reason, and fin is skipped when init failed or the load never started.
 */
export class InitFin {
  readonly failures: PhaseFailure[] = []
  readonly #barrier: PhaseBarrier
  readonly #plan: MasterPlan
  readonly #events: RunEventLog
  readonly #ending: RunEnding

  constructor(barrier: PhaseBarrier, plan: MasterPlan, events: RunEventLog, ending: RunEnding) {
    this.#barrier = barrier
    this.#plan = plan
    this.#events = events
    this.#ending = ending
  }

  /** Runs init (if the scenario has one); false when it failed and the load must not start. */
  async init(): Promise<boolean> {
    const failure = await this.#barrier.init(this.#plan.phases)
    if (failure === null) return true
    this.failures.push(failure)
    this.#ending.reason = failure.message
    this.#events.emit('phase-failed', failure.message, { phase: 'init' })
    return false
  }

  /** Runs fin once every worker has stopped its load (the barrier), before they quit. */
  async fin(loadStarted: boolean): Promise<void> {
    if (!loadStarted || this.failures.length > 0) return
    const failure = await this.#barrier.fin(this.#plan.phases, this.#plan.stopTimeoutMs + 15_000)
    if (failure === null) return
    this.failures.push(failure)
    this.#events.emit('phase-failed', failure.message, { phase: 'fin' })
  }
}
