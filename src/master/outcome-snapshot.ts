import type { StatsAggregator } from './aggregator.js'
import type { ExceptionLog } from './exception-log.js'
import type { MeasuredWindow } from './measured-window.js'
import type { OpenModelStats } from './open-model-stats.js'
import type { PhaseFailure } from './phase-barrier.js'
import type { RunEnding } from './run-ending.js'
import type { RunEventLog } from './run-events.js'
import type { RunOutcome } from './run-outcome.js'
import type { RunState } from './run-state.js'
import type { SecondSampler } from './second-sampler.js'
import type { WorkerRegistry } from './worker-registry.js'

/** The live parts of a run that its outcome is copied from (the coordinator builds this once). */
export interface OutcomeSources {
  readonly startedAtMs: number
  readonly state: RunState
  readonly window: MeasuredWindow
  readonly ending: RunEnding
  readonly aggregator: StatsAggregator
  readonly registry: WorkerRegistry
  readonly events: RunEventLog
  readonly sampler: SecondSampler
  readonly exceptions: ExceptionLog
  readonly lostWorkers: ReadonlySet<string>
  readonly openStats: OpenModelStats | null
  /** Tasks each worker left running at exit, by worker id. */
  readonly abandoned: ReadonlyMap<string, number>
  readonly unconfirmedWorkers: readonly string[]
  readonly phaseFailures: readonly PhaseFailure[]
}

/**
 * The run so far as a frozen snapshot: copies, never the live aggregator or registry, so the dashboard (every
 * second) and the result, verdict and outputs (at the end) read numbers that no later merge can change.
 */
export function snapshotOutcome(from: OutcomeSources): RunOutcome {
  const measuredFromMs = from.window.fromMs
  return Object.freeze({
    cause: from.ending.cause,
    stopReason: from.ending.reason,
    startedAtMs: from.startedAtMs,
    loadStartedAtMs: from.state.loadStartMs,
    measuredFromMs,
    measuredToMs: Math.max(measuredFromMs, from.ending.stopRequestedAtMs ?? Date.now()),
    endedAtMs: Date.now(),
    stats: from.aggregator.snapshot(),
    workers: Object.freeze(from.registry.summaries()),
    events: Object.freeze([...from.events.all]),
    samples: Object.freeze([...from.sampler.samples]),
    abortedBy: from.ending.abortedBy,
    exceptions: Object.freeze(from.exceptions.list()),
    lostWorkers: Object.freeze([...from.lostWorkers]),
    open: from.openStats,
    abandonedTasks: [...from.abandoned.values()].reduce((a, b) => a + b, 0),
    unconfirmedWorkers: Object.freeze([...from.unconfirmedWorkers]),
    phaseFailures: Object.freeze([...from.phaseFailures]),
  })
}
