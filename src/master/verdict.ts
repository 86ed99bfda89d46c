import type { ThresholdResult, Verdict } from '../shared/result.js'
import { CPU_SATURATED_PERCENT, LOOP_BLOCKED_MS } from '../shared/saturation.js'
import type { RunOutcome } from './run-outcome.js'
import type { MasterPlan } from './plan.js'
import type { OpenWindow } from './thresholds.js'

/** A worker saturated for this share of the measured window (or 5 s, whichever is longer) makes the run invalid. */
export const SATURATED_SHARE = 0.1
/** Users below 95 % of what was dispatched for more than this share of the measured window: invalid. */
export const UNDER_TARGET_SHARE = 0.2
export const UNDER_TARGET_RATIO = 0.95
/** Open model: more than this share of scheduled iterations dropped means the generator fell short. */
export const DROPPED_SHARE = 0.01

export interface VerdictDecision {
  verdict: Verdict
  reasons: string[]
}

/**
 * The verdict, from the numbers and the generator's health, never from "a report exists": `stopped` when a
 * person stopped the run, `invalid` when the generator could not deliver the load (so the numbers say nothing
 * about the target), `fail` when a threshold failed, else `pass`.
 */
export function decideVerdict(
  plan: MasterPlan,
  outcome: RunOutcome,
  thresholds: ThresholdResult[],
  open: OpenWindow | null = null,
): VerdictDecision {
  const invalid: string[] = []
  const measuredSamples = outcome.samples.filter((s) => !s.warmup && s.second * 1000 < outcome.measuredToMs)
  const measuredSeconds = Math.max(1, (outcome.measuredToMs - outcome.measuredFromMs) / 1000)

  if (outcome.cause === 'workers-never-came') {
    invalid.push(`Expected workers never came: ${outcome.stopReason ?? ''}.`)
  }
  if (outcome.cause === 'no-workers') {
    invalid.push(`The load ended early: ${outcome.stopReason ?? 'no worker left'}.`)
  }
  // Not a sample taken while stopping: workers quit then, which says nothing about workers lost and replaced.
  const lastSample = [...outcome.samples]
    .reverse()
    .find((s) => s.second * 1000 <= outcome.measuredToMs && s.phase !== 'stopping')
  const workersAtEnd = lastSample?.workers ?? 0
  if (outcome.lostWorkers.length > 0 && workersAtEnd < plan.expectWorkers) {
    // From the events' structured fields (kind, worker id, time) and the workers' indexes, never their wording.
    const indexById = new Map(outcome.workers.map((w) => [w.id, w.index]))
    const when = outcome.events
      .filter((e) => e.kind === 'worker-missing' && outcome.lostWorkers.includes(e.workerId ?? ''))
      .map(
        (e) =>
          `worker ${indexById.get(e.workerId ?? '') ?? '?'} at +${Math.round((e.timeMs - (outcome.loadStartedAtMs ?? e.timeMs)) / 1000)} s`,
      )
      .join(', ')
    invalid.push(
      `${outcome.lostWorkers.length} worker(s) lost and not replaced (${when}); their users moved to the ${workersAtEnd} remaining worker(s), ${workersAtEnd} of ${plan.expectWorkers} expected.`,
    )
  }
  for (const worker of outcome.workers) {
    if (worker.saturatedSeconds >= Math.max(5, SATURATED_SHARE * measuredSeconds)) {
      invalid.push(
        `Worker ${worker.index} was saturated (≥ ${CPU_SATURATED_PERCENT} % CPU or its event loop blocked ≥ ${LOOP_BLOCKED_MS} ms, or a query waited that long for its database pool) for ${worker.saturatedSeconds} s: its latencies include its own queueing.`,
      )
    }
  }
  if (outcome.loadStartedAtMs !== null && measuredSamples.length > 0) {
    const under = measuredSamples.filter(
      (s) =>
        s.paused !== true &&
        // Users leave while the run stops: those seconds say nothing about the generator.
        s.phase !== 'stopping' &&
        s.dispatchedUsers > 0 &&
        s.users < Math.floor(UNDER_TARGET_RATIO * s.dispatchedUsers),
    ).length
    if (under / measuredSamples.length > UNDER_TARGET_SHARE) {
      invalid.push(
        `Workers ran fewer users than dispatched for ${under} of ${measuredSamples.length} measured seconds (below ${UNDER_TARGET_RATIO * 100} % of target).`,
      )
    }
  }
  if (open !== null && !(plan.open?.dropsExpected ?? false)) {
    const scheduled = open.started + open.dropped
    if (scheduled > 0 && open.dropped / scheduled > DROPPED_SHARE) {
      invalid.push(
        `The generator dropped ${open.dropped} of ${scheduled} scheduled iterations (${((100 * open.dropped) / scheduled).toFixed(1)} %): too few slots (--users ${plan.users}) for rate × latency, so the target never saw the asked-for rate. Raise --users or add workers; set dropsExpected: true in the scenario if drops are the point.`,
      )
    }
  }
  if (
    outcome.loadStartedAtMs !== null &&
    outcome.stats.measured.total.requests === 0 &&
    outcome.cause !== 'person'
  ) {
    invalid.push('No request completed in the measured window: nothing was measured.')
  }

  // Not a reason to doubt the numbers (the window was measured), but the target may see load after the run
  // ended: say so next to whatever the verdict is.
  const unconfirmed = outcome.unconfirmedWorkers ?? []
  const caveats =
    unconfirmed.length === 0
      ? []
      : [
          `${unconfirmed.length} worker(s) did not confirm they stopped (${unconfirmed.join(', ')}): each stops by itself within its master timeout, so the target may see their load briefly after the run.`,
        ]

  // Phases (issue 15): init not passing means the load never ran as designed; fin is the run's own check.
  for (const failure of outcome.phaseFailures ?? []) {
    if (failure.phase !== 'fin')
      invalid.push(`The init phase did not pass, so no load ran: ${failure.message}.`)
  }
  const finFailures = (outcome.phaseFailures ?? [])
    .filter((f) => f.phase === 'fin')
    .map((f) => `The fin phase failed: ${f.message}.`)
  const failed = thresholds.filter((t) => !t.ok)
  const failReasons = finFailures.concat(
    failed.map(
      (t) =>
        `${t.isDefault === true ? 'Default threshold (the scenario declares none)' : 'Threshold'} ${t.metric} ${t.expression} failed: observed ${t.observed === null ? 'no data' : t.observed}.`,
    ),
  )

  if (outcome.cause === 'person') {
    return {
      verdict: 'stopped',
      reasons: [
        `Stopped by a person: ${outcome.stopReason ?? 'stop requested'}.`,
        ...invalid,
        ...failReasons,
        ...caveats,
      ],
    }
  }
  if (invalid.length > 0) return { verdict: 'invalid', reasons: [...invalid, ...failReasons, ...caveats] }
  if (failReasons.length > 0) {
    const aborted =
      outcome.abortedBy === null ? [] : ['The run was aborted early by an abortOnFail threshold.']
    return { verdict: 'fail', reasons: [...failReasons, ...aborted, ...caveats] }
  }
  const passed =
    thresholds.length === 0
      ? 'No thresholds declared; the generator delivered the load.'
      : thresholds.length === 1 && thresholds[0]?.isDefault === true
        ? `The default threshold ${thresholds[0].metric} ${thresholds[0].expression} passed (the scenario declares none).`
        : `All ${thresholds.length} threshold(s) passed.`
  return { verdict: 'pass', reasons: [passed, ...caveats] }
}
