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
}
