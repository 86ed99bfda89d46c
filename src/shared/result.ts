/**
 * result.json: the one file a run leaves behind, read by the report, the GitHub action and people's scripts.
 * Versioned: add fields freely, bump `schemaVersion` only when a field changes meaning or disappears.
 * All times are epoch milliseconds unless a name says otherwise; all durations are milliseconds.
 */
export const RESULT_SCHEMA_VERSION = 1

export type Verdict = 'pass' | 'fail' | 'invalid' | 'stopped'

export interface LatencySummary {
  /** Milliseconds. null when nothing was timed. */
  minMs: number | null
  maxMs: number | null
  avgMs: number | null
  p50Ms: number | null
  p90Ms: number | null
  p95Ms: number | null
  p99Ms: number | null
  p999Ms: number | null
}

export interface EndpointResult extends LatencySummary {
  method: string
  name: string
  requests: number
  failures: number
  /** Requests per second over the measured window. */
  rps: number
  failuresPerSec: number
  avgBytes: number
  totalBytes: number
}

export interface ErrorResult {
  method: string
  name: string
  error: string
  occurrences: number
  firstSeenMs: number | null
  lastSeenMs: number | null
}

/** One second of the run. Requests count in the second in which they completed. */
export interface TimePoint {
  /** Start of the second, epoch ms. */
  timeMs: number
  users: number
  /** Live workers during that second. */
  workers: number
  rps: number
  failuresPerSec: number
  p50Ms: number | null
  p95Ms: number | null
  p99Ms: number | null
  /** True inside the warm-up: shown shaded, excluded from the headline numbers. */
  warmup: boolean
  /** Optional per-endpoint figures, keyed `${method} ${name}`. */
  endpoints?: Record<string, { rps: number; failuresPerSec: number; p95Ms: number | null }>
  /** Open model (target RPS): targeted and achieved rate, dropped iterations. */
  targetRps?: number
  droppedIterations?: number
  /** Open model: iterations started in this second (the achieved rate). */
  iterationsStarted?: number
  /** A phase label (stage index, 'paused', ...). */
  phase?: string
}

export interface ThresholdResult {
  /** The metric expression as written, e.g. 'http_req_duration{name:/}'. */
  metric: string
  /** The condition as written, e.g. 'p(95)<400'. */
  expression: string
  /** The observed value the condition was evaluated on; null when there was no data. */
  observed: number | null
  ok: boolean
  abortOnFail: boolean
  /** True for the default `http_req_failed: rate<0.01` applied because the scenario declares no thresholds. */
  isDefault?: boolean
}

export type RunEventKind =
  | 'worker-joined'
  | 'worker-missing'
  | 'worker-removed'
  | 'worker-recovered'
  | 'worker-saturated'
  /** init or fin did not pass (issue 15: database phases). */
  | 'phase-failed'
  | 'master-behind'
  | 'stage-started'
  | 'warmup-ended'
  | 'spawn-complete'
  | 'threshold-aborted'
  | 'paused'
  | 'resumed'
  | 'retargeted'
  | 'stop-requested'
  | 'stopped'
  | 'workers-unconfirmed'
  | 'tasks-abandoned'

export interface RunEvent {
  timeMs: number
  kind: RunEventKind
  /** Human-readable, one line. */
  message: string
  workerId?: string
  details?: Record<string, unknown>
}

export interface WorkerSummary {
  id: string
  index: number
  /** 'horde' or the Locust version string a Python worker announced ('' for Debian 2.12.1). */
  kind: string
  maxCpuPercent: number
  maxMemoryBytes: number
  /** Seconds at ≥ 90 % CPU or with a blocked event loop. */
  saturatedSeconds: number
  missingEvents: number
}

export interface RunConfig {
  scenario: string
  scenarioFile: string
  host: string | null
  users: number | null
  spawnRate: number | null
  /** Open model only. */
  targetRps: number | null
  durationMs: number | null
  warmupMs: number
  workers: number
  stages: Array<{ durationMs: number; users: number; spawnRate: number | null }> | null
  gitCommit: string | null
  /** Free-form labels: CI run URL, Datadog links, ... */
  labels: Record<string, string>
}

export interface RunResult {
  schemaVersion: typeof RESULT_SCHEMA_VERSION
  runId: string
  hordeVersion: string
  verdict: Verdict
  /** Why the verdict is what it is, one sentence per reason. */
  verdictReasons: string[]
  startedAtMs: number
  endedAtMs: number
  /** The measured window (after warm-up). */
  measuredFromMs: number
  measuredToMs: number
  config: RunConfig
  totals: LatencySummary & {
    requests: number
    failures: number
    failureRate: number
    rps: number
    totalBytes: number
    /** Open model only. */
    droppedIterations?: number
  }
  endpoints: EndpointResult[]
  errors: ErrorResult[]
  /** Response-time histogram of the measured window: [upper bound ms, count] ascending. */
  histogram: Array<[number, number]>
  /** Stated relative error of the percentiles (e.g. 0.01 = 1 %). */
  percentileErrorBound: number
  timeSeries: TimePoint[]
  thresholds: ThresholdResult[]
  events: RunEvent[]
  workers: WorkerSummary[]
  /** Open model (target rate) only; results written before it existed lack it. */
  openModel?: OpenModelResult | null
}

export interface OpenModelResult {
  /** The rate asked for at the start, and the stages of { durationMs, rps } if any. */
  startRps: number
  rateStages: Array<{ durationMs: number; rps: number }> | null
  /** Iterations in the measured window: started and dropped (no free slot within 2 s). */
  startedIterations: number
  droppedIterations: number
  /** dropped / (started + dropped). */
  droppedRate: number
  /** Mean of the rate asked for over the measured window, and what was achieved. */
  targetRps: number
  achievedRps: number
  dropsExpected: boolean
  /** Response times measured from each iteration's intended start (coordinated omission corrected). */
  correctedLatency: LatencySummary
  correctedEndpoints: Array<{ method: string; name: string } & LatencySummary>
}
