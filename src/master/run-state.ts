import type { Logger } from '../shared/logger.js'
import type { MasterPlan } from './plan.js'
import type { RunEventLog } from './run-events.js'
import type { WorkerLink } from './worker-link.js'
import type { WorkerRegistry } from './worker-registry.js'

export type RunPhase = 'waiting' | 'running' | 'stopping' | 'done'
export type StopCause = 'duration' | 'person' | 'threshold' | 'no-workers' | 'workers-never-came'

/**
 * What every part of the master reads about the run in progress. Only the coordinator writes it, so the planner,
 * the rate splitter and the sampler all see one phase and one pause flag.
 */
export interface RunState {
  phase: RunPhase
  paused: boolean
  /** When the load started (epoch ms); null while waiting for workers. */
  loadStartMs: number | null
  /**
   * `quit` went out to every worker. Stopping begins with the fin barrier, during which workers must stay:
   * re-sending `quit` on each heartbeat from the moment the phase turned to stopping made workers leave in the
   * middle of fin (the barrier then failed with "worker N was lost during fin").
   */
  quitSent: boolean
}

/** What the closed-model planner and the open-model splitter both work with (built once by the coordinator). */
export interface DispatchParts {
  readonly plan: MasterPlan
  readonly state: RunState
  readonly registry: WorkerRegistry
  readonly link: WorkerLink
  readonly events: RunEventLog
  readonly log: Logger
}
