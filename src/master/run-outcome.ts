import type { PhaseFailure } from './phase-barrier.js'
import type { RunEvent, ThresholdResult, WorkerSummary } from '../shared/result.js'
import type { StatsSnapshot } from './aggregator.js'
import type { ExceptionEntry } from './exception-log.js'
import type { OpenModelStats } from './open-model-stats.js'
import type { StopCause } from './run-state.js'
import type { Sample } from './second-sampler.js'

/**
 * A finished run, as the result, the verdict and the output files read it: a frozen snapshot taken once the
 * workers are gone, so nothing downstream reaches into the live aggregator or registry.
 */
export interface RunOutcome {
  readonly cause: StopCause
  readonly stopReason: string | null
  readonly startedAtMs: number
  readonly loadStartedAtMs: number | null
  readonly measuredFromMs: number
  readonly measuredToMs: number
  readonly endedAtMs: number
  readonly stats: StatsSnapshot
  /** Every worker seen, by index, departed ones included. */
  readonly workers: readonly WorkerSummary[]
  readonly events: readonly RunEvent[]
  readonly samples: readonly Sample[]
  readonly abortedBy: ThresholdResult | null
  readonly exceptions: readonly ExceptionEntry[]
  /** Workers lost (missing or gone without quit) and never replaced. */
  readonly lostWorkers: readonly string[]
  /** Open model only: iterations, target rate and corrected latency (no longer merged into). */
  readonly open?: OpenModelStats | null
  /** Tasks workers left running after the stop timeout so they could exit (from their `horde_final`). */
  readonly abandonedTasks?: number
  /** Workers that were sent `quit` at the end but never confirmed it within the bound (may still be loading). */
  readonly unconfirmedWorkers?: readonly string[]
  /** init / fin that did not pass (init: the run is invalid; fin: it fails). Empty without phases. */
  readonly phaseFailures?: readonly PhaseFailure[]
}
