import { z } from 'zod'

/**
 * result.json: the one file a run leaves behind, read by the report, the GitHub action and people's scripts.
 * Versioned: add fields freely, bump `schemaVersion` only when a field changes meaning or disappears.
 * All times are epoch milliseconds unless a name says otherwise; all durations are milliseconds.
 *
 * This schema is the one description of the file: the TypeScript types are inferred from it, the master checks
 * what it writes against it and the report checks what it reads. Objects are loose: a newer Horde's extra fields
 * pass through untouched.
 */
export const RESULT_SCHEMA_VERSION = 1

const num = z.number()
const nnum = z.number().nullable()

export const VERDICTS = ['pass', 'fail', 'invalid', 'stopped'] as const
export const verdictSchema = z.enum(VERDICTS)
export type Verdict = z.infer<typeof verdictSchema>

export const latencySummarySchema = z.object({
  /** Milliseconds. null when nothing was timed. */
  minMs: nnum,
  maxMs: nnum,
  avgMs: nnum,
  p50Ms: nnum,
  p90Ms: nnum,
  p95Ms: nnum,
  p99Ms: nnum,
  p999Ms: nnum,
})
export type LatencySummary = z.infer<typeof latencySummarySchema>

export const endpointResultSchema = latencySummarySchema.extend({
  method: z.string(),
  name: z.string(),
  requests: num,
  failures: num,
  /** Requests per second over the measured window. */
  rps: num,
  failuresPerSec: num,
  avgBytes: num,
  totalBytes: num,
})
export type EndpointResult = z.infer<typeof endpointResultSchema>

export const errorResultSchema = z.object({
  method: z.string(),
  name: z.string(),
  error: z.string(),
  occurrences: num,
  firstSeenMs: nnum,
  lastSeenMs: nnum,
})
export type ErrorResult = z.infer<typeof errorResultSchema>

/** One second of the run. Requests count in the second in which they completed. */
export const timePointSchema = z.object({
  /** Start of the second, epoch ms. */
  timeMs: num,
  users: num,
  /** Live workers during that second. */
  workers: num,
  rps: num,
  failuresPerSec: num,
  p50Ms: nnum,
  p95Ms: nnum,
  p99Ms: nnum,
  /** True inside the warm-up: shown shaded, excluded from the headline numbers. */
  warmup: z.boolean(),
  /** Optional per-endpoint figures, keyed `${method} ${name}`. */
  endpoints: z.record(z.string(), z.object({ rps: num, failuresPerSec: num, p95Ms: nnum })).optional(),
  /** Open model (target RPS): targeted and achieved rate, dropped iterations. */
  targetRps: num.optional(),
  droppedIterations: num.optional(),
  /** Open model: iterations started in this second (the achieved rate). */
  iterationsStarted: num.optional(),
  /** A phase label (stage index, 'paused', ...). */
  phase: z.string().optional(),
})
export type TimePoint = z.infer<typeof timePointSchema>

export const thresholdResultSchema = z.object({
  /** The metric expression as written, e.g. 'http_req_duration{name:/}'. */
  metric: z.string(),
  /** The condition as written, e.g. 'p(95)<400'. */
  expression: z.string(),
  /** The observed value the condition was evaluated on; null when there was no data. */
  observed: nnum,
  ok: z.boolean(),
  abortOnFail: z.boolean(),
  /** True for the default `http_req_failed: rate<0.01` applied because the scenario declares no thresholds. */
  isDefault: z.boolean().optional(),
})
export type ThresholdResult = z.infer<typeof thresholdResultSchema>

/** The kinds this Horde writes. A reader takes any string: a later Horde may add kinds. */
export const RUN_EVENT_KINDS = [
  'worker-joined',
  'worker-missing',
  'worker-removed',
  'worker-recovered',
  'worker-saturated',
  /** init or fin did not pass (issue 15: database phases). */
  'phase-failed',
  'master-behind',
  'stage-started',
  'warmup-ended',
  'spawn-complete',
  'threshold-aborted',
  'paused',
  'resumed',
  'retargeted',
  'stop-requested',
  'stopped',
  'workers-unconfirmed',
  'tasks-abandoned',
] as const
export type RunEventKind = (typeof RUN_EVENT_KINDS)[number]

export const runEventSchema = z.object({
  timeMs: num,
  kind: z.string(),
  /** Human-readable, one line. */
  message: z.string(),
  workerId: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
})
export type RunEvent = z.infer<typeof runEventSchema>

export const workerSummarySchema = z.object({
  id: z.string(),
  index: num,
  /** 'horde' or the Locust version string a Python worker announced ('' for Debian 2.12.1). */
  kind: z.string(),
  maxCpuPercent: num,
  maxMemoryBytes: num,
  /** Seconds at ≥ 90 % CPU or with a blocked event loop. */
  saturatedSeconds: num,
  missingEvents: num,
  /** Requests the worker reported (from its stats_total). */
  requests: num.optional(),
})
export type WorkerSummary = z.infer<typeof workerSummarySchema>

export const runConfigSchema = z.object({
  scenario: z.string().min(1),
  scenarioFile: z.string(),
  host: z.string().nullable(),
  users: nnum,
  spawnRate: nnum,
  /** Open model only. */
  targetRps: nnum,
  durationMs: nnum,
  warmupMs: num,
  workers: num,
  stages: z.array(z.object({ durationMs: num, users: num, spawnRate: nnum })).nullable(),
  gitCommit: z.string().nullable(),
  /** Free-form labels: CI run URL, Datadog links, ... */
  labels: z.record(z.string(), z.string()),
})
export type RunConfig = z.infer<typeof runConfigSchema>

const traceSampleSchema = z.object({ traceId: z.string(), durationMs: num })
/** Per endpoint key: trace ids (decimal 64-bit, Datadog's /apm/trace/<id>) of the slowest and failed requests. */
export const traceSamplesResultSchema = z.record(
  z.string(),
  z.object({ slowest: z.array(traceSampleSchema), failed: z.array(traceSampleSchema) }),
)
export type TraceSamplesResult = z.infer<typeof traceSamplesResultSchema>

export const openModelResultSchema = z.object({
  /** The rate asked for at the start, and the stages of { durationMs, rps } if any. */
  startRps: num,
  rateStages: z.array(z.object({ durationMs: num, rps: num })).nullable(),
  /** Iterations in the measured window: started and dropped (no free slot within 2 s). */
  startedIterations: num,
  droppedIterations: num,
  /** dropped / (started + dropped). */
  droppedRate: num,
  /** Mean of the rate asked for over the measured window, and what was achieved. */
  targetRps: num,
  achievedRps: num,
  dropsExpected: z.boolean(),
  /** Response times measured from each iteration's intended start (coordinated omission corrected). */
  correctedLatency: latencySummarySchema,
  correctedEndpoints: z.array(latencySummarySchema.extend({ method: z.string(), name: z.string() })),
})
export type OpenModelResult = z.infer<typeof openModelResultSchema>

export const PERCENTILE_SOURCES = ['horde-hdr', 'locust-buckets', 'mixed', 'none'] as const

const exceptionSchema = z.object({
  count: num,
  msg: z.string(),
  traceback: z.string(),
  nodes: z.array(z.string()),
})

/** Everything a Horde master writes. Fields marked "master" are optional to readers (results from elsewhere). */
const runResultShape = {
  schemaVersion: z.literal(RESULT_SCHEMA_VERSION, {
    error: `schemaVersion must be ${RESULT_SCHEMA_VERSION}`,
  }),
  runId: z.string().min(1),
  hordeVersion: z.string(),
  verdict: verdictSchema,
  /** Why the verdict is what it is, one sentence per reason. */
  verdictReasons: z.array(z.string()),
  startedAtMs: num,
  endedAtMs: num,
  /** The measured window (after warm-up). */
  measuredFromMs: num,
  measuredToMs: num,
  config: runConfigSchema,
  totals: latencySummarySchema.extend({
    requests: num,
    failures: num,
    failureRate: num,
    rps: num,
    totalBytes: num,
    /** Open model only. */
    droppedIterations: num.optional(),
  }),
  endpoints: z.array(endpointResultSchema),
  errors: z.array(errorResultSchema),
  /** Response-time histogram of the measured window: [upper bound ms, count] ascending. */
  histogram: z.array(z.tuple([num, num])),
  /** Stated relative error of the percentiles (e.g. 0.01 = 1 %). */
  percentileErrorBound: num,
  timeSeries: z.array(timePointSchema),
  thresholds: z.array(thresholdResultSchema),
  events: z.array(runEventSchema),
  workers: z.array(workerSummarySchema),
  /** Open model (target rate) only; results written before it existed lack it. */
  openModel: openModelResultSchema.nullable().optional(),
  /** Master: where percentiles come from: Horde histograms (≤ 0.5 %), Locust buckets (±5 %), or both by row. */
  percentileSource: z.enum(PERCENTILE_SOURCES).optional(),
  /** Master: the same figures for the warm-up window (excluded from totals and thresholds). */
  warmupTotals: z.object({ requests: num, failures: num }).nullable().optional(),
  /** Master: exceptions workers reported (Locust `exception` messages), grouped by traceback. */
  exceptions: z.array(exceptionSchema).optional(),
  /** Master: why the load ended: duration, person, threshold, no-workers, workers-never-came. */
  stopCause: z.string().optional(),
  /** Master: tasks that ignored the stop and were abandoned by their workers after the stop timeout. */
  abandonedTasks: num.optional(),
  /** Master: workers sent `quit` at the end that never confirmed it (they stop by themselves on losing the master). */
  unconfirmedWorkers: z.array(z.string()).optional(),
  /**
   * Datadog APM, when workers traced requests (--trace, HORDE_TRACE=1 or the scenario's `trace`): the share
   * sampled and, per endpoint (`${method} ${name}`), a few trace ids of its slowest and failed requests.
   * Absent when tracing was off and in results written before it existed.
   */
  tracing: z.object({ sample: num, samples: traceSamplesResultSchema }).nullable().optional(),
}

/** What a reader may rely on (the report, the action, scripts). */
export const runResultSchema = z.object(runResultShape)
export type RunResult = z.infer<typeof runResultSchema>

/** What the Horde master writes: the master's fields present (abandonedTasks and unconfirmedWorkers came later). */
export const masterRunResultSchema = runResultSchema.required({
  openModel: true,
  percentileSource: true,
  warmupTotals: true,
  exceptions: true,
  stopCause: true,
})
export type MasterRunResult = z.infer<typeof masterRunResultSchema>

/**
 * Checks a parsed result.json. Returns the document (unknown fields kept) or the first problem, naming the field
 * by its path, e.g. `totals.p95Ms: expected number, received string`.
 */
export function checkRunResult(
  json: unknown,
): { ok: true; result: RunResult } | { ok: false; problem: string } {
  const parsed = runResultSchema.safeParse(json)
  if (parsed.success) return { ok: true, result: json as RunResult }
  const issue = parsed.error.issues[0]
  const where = issue === undefined || issue.path.length === 0 ? 'the document' : issue.path.join('.')
  return { ok: false, problem: `${where}: ${issue?.message ?? 'invalid'}` }
}
