import { ClosedModelPlanner } from './closed-model-planner.js'
import { OpenRateSplitter } from './open-rate-splitter.js'
import type { DispatchParts } from './run-state.js'
import type { Asked } from './second-sampler.js'

/**
 * The run's load model, closed (users, ramped by the planner) or open (a target rate, split by the splitter),
 * behind one face: the coordinator, the clock and the health watch ask it to apply the schedule or rebalance
 * without caring which model the plan chose.
 */
export class LoadModel {
  readonly planner: ClosedModelPlanner
  readonly splitter: OpenRateSplitter
  readonly #parts: DispatchParts

  constructor(parts: DispatchParts) {
    this.#parts = parts
    this.planner = new ClosedModelPlanner(parts)
    this.splitter = new OpenRateSplitter(parts)
  }

  get #open(): boolean {
    return this.#parts.plan.open !== null
  }

  /** Applies the stage (or constant target, or rate) in force now; called at start and every tick. */
  apply(nowMs: number): void {
    if (this.#open) this.splitter.apply(nowMs)
    else this.planner.apply(nowMs)
  }

  /** Redistributes the current users (or rate) over the current workers at once (join, loss, recovery). */
  rebalance(): void {
    if (this.#parts.state.phase !== 'running') return
    if (this.#open) this.splitter.send()
    else this.planner.rebalance()
  }

  /** Open model: the global rate asked for now (null in the closed model or before the load). */
  targetRps(nowMs: number): number | null {
    return !this.#open || this.#parts.state.loadStartMs === null ? null : this.splitter.rateNow(nowMs).rps
  }

  /** What this second asks for, for the sampler. */
  asked(): Asked {
    return {
      targetUsers: this.planner.targetUsers,
      dispatchedUsers: this.planner.dispatchedUsers,
      stage: this.#open ? this.splitter.stage : this.planner.stage,
      rpsAt: (timeMs) => this.splitter.rateNow(timeMs).rps,
    }
  }
}
