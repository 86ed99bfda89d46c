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

export interface PlanThreshold {
  /** As written: 'http_req_duration{name:/}'. */
  metric: string
  /** As written: 'p(95)<400'. */
  expression: string
  abortOnFail: boolean
  /** Minimum measured time before an abortOnFail threshold may stop the run (k6 delayAbortEval). */
  delayAbortEvalMs?: number
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
  /** Free-form labels copied into result.json (CI run URL, ...). */
  labels: Record<string, string>
  gitCommit: string | null
}

/** Total scheduled run time of a plan, in ms. */
export function planDurationMs(plan: MasterPlan): number {
  if (plan.durationMs !== null) return plan.durationMs
  return (plan.stages ?? []).reduce((sum, stage) => sum + stage.durationMs, 0)
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
