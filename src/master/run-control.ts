import type { LoadModel } from './load-model.js'
import type { DispatchParts } from './run-state.js'

/** A change asked for while the run goes on (control API, `horde ctl`). */
export interface Retarget {
  users?: number
  spawnRate?: number
  rps?: number
  /** Open model: reach `rps` by a linear ramp over this long (0: at once). */
  rampMs?: number
}

export type RetargetAnswer = { ok: true } | { ok: false; error: string }

/**
 * The commands a person gives a running run (control API, `horde ctl`): pause, resume and retarget. Each is
 * refused with a reason outside the running phase or in the wrong model, and otherwise handed to the planner
 * (closed model) or the rate splitter (open model).
 */
export class RunControl {
  readonly #parts: DispatchParts
  readonly #model: LoadModel

  constructor(parts: DispatchParts, model: LoadModel) {
    this.#parts = parts
    this.#model = model
  }

  /**
   * Pauses (stops starting new tasks/iterations; in-flight ones finish, stats keep flowing) or resumes. Horde
   * workers pause themselves; Locust workers cannot, so their users are stopped (spawn 0) and started again.
   */
  setPaused(paused: boolean, reason: string): boolean {
    const { state, events, link } = this.#parts
    if (state.phase !== 'running' || state.paused === paused) return false
    state.paused = paused
    events.emit(paused ? 'paused' : 'resumed', reason)
    link.broadcastControl({ v: 1, paused })
    this.#model.rebalance()
    return true
  }

  /** Changes users (closed model, ramped at the spawn rate) or the rate (open model) for the rest of the run. */
  retarget(change: Retarget): RetargetAnswer {
    const { state, plan } = this.#parts
    if (state.phase !== 'running') return { ok: false, error: `the run is ${state.phase}, not running` }
    if (plan.open !== null) {
      if (change.rps === undefined) {
        return {
          ok: false,
          error: 'this run is in the open model: retarget it with rps (and optionally rampMs)',
        }
      }
      this.#model.splitter.retarget(change.rps, change.rampMs ?? 0, Date.now())
      return { ok: true }
    }
    if (change.users === undefined) {
      return {
        ok: false,
        error: 'this run is in the closed model: retarget it with users (and optionally spawnRate)',
      }
    }
    this.#model.planner.retarget(change.users, change.spawnRate, Date.now())
    return { ok: true }
  }
}
