import type { PlanPhases } from './phase-barrier.js'
/**
 * What the master needs to run a test, as plain data. The CLI builds it from a loaded scenario and flags, so the
 * master never imports worker code (STYLE.md: cli → master/worker → protocol → shared).
 */

export interface PlanUserClass {
  /** The Locust user-class name sent on the wire in `spawn.user_classes_count`. */
  name: string
  /** Relative share of the non-fixed users. */
  weight: number
  /** Exactly this many users of the class (Locust `fixed_count`); they are dispatched first. */
  fixedCount?: number
}

export interface PlanStage {
  durationMs: number
  users: number
  /** Users per second while moving to `users`; defaults to the plan's spawn rate. */
  spawnRate?: number
}

/**
 * Applied when a scenario declares no thresholds (as Locust exits non-zero on any failure): a refused port, a
 * failed DNS lookup or a storm of connection resets must not PASS just because nobody wrote a threshold.
 * `thresholds: {}` in the scenario opts out explicitly.
 */
export const DEFAULT_THRESHOLD: Readonly<PlanThreshold> = Object.freeze({
  metric: 'http_req_failed',
  expression: 'rate<0.01',
  abortOnFail: false,
  isDefault: true,
})

export interface PlanThreshold {
  /** As written: 'http_req_duration{name:/}'. */
  metric: string
  /** As written: 'p(95)<400'. */
  expression: string
  abortOnFail: boolean
  /** Minimum measured time before an abortOnFail threshold may stop the run (k6 delayAbortEval). */
  delayAbortEvalMs?: number
  /** Not written by the scenario: the default that applies when it declares no thresholds. */
  isDefault?: boolean
}

/** Open model (target rate): the rate moves linearly to `rps` over `durationMs`, from the previous stage. */
export interface PlanRateStage {
  durationMs: number
  rps: number
}

export interface OpenModelPlan {
  /** Global iterations per second at the start (the whole run when there are no stages). */
  startRps: number
  stages: PlanRateStage[] | null
  /** Dropped iterations do not make the run invalid (the scenario expects them). */
  dropsExpected: boolean
}

export interface MasterPlan {
  runId: string
  scenarioName: string
  scenarioFile: string
  /** Base URL handed to workers in `spawn.host`; null lets each worker use its scenario's host. */
  host: string | null
  userClasses: PlanUserClass[]
  /** Constant load: users and spawn rate for the whole duration (ignored when stages are given). */
  users: number
  spawnRate: number
  /** Total run time including warm-up and ramp; with stages, the sum of stage durations when null. */
  durationMs: number | null
  stages: PlanStage[] | null
  warmupMs: number
  stopTimeoutMs: number
  thresholds: PlanThreshold[]
  /** Workers that must be ready before the load starts. */
  expectWorkers: number
  /** How long to wait for them; the run is `invalid` if they never come. */
  expectWorkersTimeoutMs: number
  /**
   * Open model: iterations start at a global rate split across workers; `users` is then the global bound on
   * iterations in flight. null: the closed model (users loop over their tasks).
   */
  open: OpenModelPlan | null
  /** Free-form labels copied into result.json (CI run URL, ...). */
  labels: Record<string, string>
  gitCommit: string | null
  /** The scenario's init / fin phases (Horde workers only); absent: none. */
  phases?: PlanPhases
  /** Closed model: the scenario's cap in tasks per second across the run, split over Horde workers. */
  throttleTps?: number
}

/** Total scheduled run time of a plan, in ms. */
export function planDurationMs(plan: MasterPlan): number {
  if (plan.durationMs !== null) return plan.durationMs
  if (plan.open?.stages != null) return plan.open.stages.reduce((sum, stage) => sum + stage.durationMs, 0)
  return (plan.stages ?? []).reduce((sum, stage) => sum + stage.durationMs, 0)
}

export interface RateNow {
  /** The global rate at this instant. */
  rps: number
  /** Where the current stage is heading, and in how long (0 without stages or after the last). */
  targetRps: number
  remainingMs: number
  /** -1 without stages. */
  stage: number
}

/** The open model's global rate `elapsedMs` after the load started: linear within each stage. */
export function rateAt(open: OpenModelPlan, elapsedMs: number): RateNow {
  if (open.stages === null || open.stages.length === 0) {
    return { rps: open.startRps, targetRps: open.startRps, remainingMs: 0, stage: -1 }
  }
  let start = 0
  let from = open.startRps
  for (let index = 0; index < open.stages.length; index++) {
    const stage = open.stages[index] as PlanRateStage
    if (elapsedMs < start + stage.durationMs) {
      const into = elapsedMs - start
      const rps = stage.durationMs > 0 ? from + ((stage.rps - from) * into) / stage.durationMs : stage.rps
      return { rps, targetRps: stage.rps, remainingMs: start + stage.durationMs - elapsedMs, stage: index }
    }
    start += stage.durationMs
    from = stage.rps
  }
  return { rps: from, targetRps: from, remainingMs: 0, stage: open.stages.length - 1 }
}

/** The user target and spawn rate in force `elapsedMs` after the load started. */
export function targetAt(
  plan: MasterPlan,
  elapsedMs: number,
): { users: number; spawnRate: number; stage: number } {
  if (plan.stages === null || plan.stages.length === 0) {
    return { users: plan.users, spawnRate: plan.spawnRate, stage: -1 }
  }
  let start = 0
  for (let index = 0; index < plan.stages.length; index++) {
    const stage = plan.stages[index] as PlanStage
    if (elapsedMs < start + stage.durationMs || index === plan.stages.length - 1) {
      return { users: stage.users, spawnRate: stage.spawnRate ?? plan.spawnRate, stage: index }
    }
    start += stage.durationMs
  }
  return { users: plan.users, spawnRate: plan.spawnRate, stage: -1 }
}

/** The largest user count the plan ever asks for (dispatch sanity checks, "more workers than users"). */
export function peakUsers(plan: MasterPlan): number {
  if (plan.stages === null || plan.stages.length === 0) return plan.users
  return Math.max(...plan.stages.map((stage) => stage.users))
}
