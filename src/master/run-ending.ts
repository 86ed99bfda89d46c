import type { ThresholdResult } from '../shared/result.js'
import type { RunEventLog } from './run-events.js'
import type { RunState, StopCause } from './run-state.js'

/**
 * How the run ends and why: the cause and reason the verdict reads, the threshold that aborted it, and the wait
 * for the load's end that a stop request (control API, signal, lost workers, abortOnFail) cuts short. One place
 * decides, so a second stop request never rewrites the reason of the first.
 */
export class RunEnding {
  cause: StopCause = 'duration'
  reason: string | null = null
  abortedBy: ThresholdResult | null = null
  /** When the workers were told to stop: the measured window ends here. */
  stopRequestedAtMs: number | null = null
  readonly #state: RunState
  readonly #events: RunEventLog
  #waiter: (() => void) | null = null

  constructor(state: RunState, events: RunEventLog) {
    this.#state = state
    this.#events = events
  }

  /** Asks the run to end now; ignored once it is already stopping. */
  request(reason: string, cause: StopCause): void {
    if (this.#state.phase === 'stopping' || this.#state.phase === 'done') return
    this.cause = cause
    this.reason = reason
    if (cause === 'person') this.#events.emit('stop-requested', reason)
    this.#waiter?.()
  }

  /** An abortOnFail threshold failed on the measured window: recorded for the verdict, then the run stops. */
  abort(result: ThresholdResult): void {
    this.abortedBy = result
    this.#events.emit(
      'threshold-aborted',
      `threshold ${result.metric} ${result.expression} failed (observed ${result.observed}): aborting`,
      { ...result },
    )
    this.request(`threshold ${result.metric} ${result.expression} failed`, 'threshold')
  }

  /** Resolves after `durationMs` of load or when a stop is requested. */
  async waitForLoad(durationMs: number): Promise<void> {
    if (this.reason !== null) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(
        resolve,
        Math.max(0, (this.#state.loadStartMs ?? Date.now()) + durationMs - Date.now()),
      )
      this.#waiter = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.#waiter = null
  }
}
