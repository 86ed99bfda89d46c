import type { HttpClient } from './http/http-types.js'
import type { Logger } from '../shared/logger.js'
import type { DbApi } from './db/db-client.js'

/** What `init` and `fin` receive. */
export interface PhaseContext {
  /** Databases, as in tasks; a phase's queries are not part of the results (they run outside the load). */
  readonly db: DbApi
  readonly log: Logger
  /** 0-based number of this worker among the run's Horde workers (JdbcRunner's agent id). */
  readonly agentId: number
  /** How many Horde workers the run has. */
  readonly agents: number
}

/** A phase body: `init` prepares data, `fin` checks invariants (throw to make the run fail with the message). */
export type PhaseFn = (ctx: PhaseContext) => unknown

/** How long a user waits between tasks. Data, not closures, so the runner can schedule it cheaply. */
export type WaitSpec =
  | { kind: 'between'; minMs: number; maxMs: number }
  | { kind: 'constant'; ms: number }
  /** Start a task every `ms` (Locust constant_pacing): waits `ms - taskDuration`, never negative. */
  | { kind: 'pacing'; ms: number }

/**
 * What a task receives. One per user; reused for every task call, so it costs nothing per request. Every
 * member may be destructured (`({ http, measure, record, state }) => ...`).
 */
export interface TaskContext<State = unknown> {
  /** HTTP client that records stats; status ≥ 400 is a failure unless the call says otherwise. */
  readonly http: HttpClient
  /** Times any async operation and records it under (type, name): Boomer's RecordSuccess/RecordFailure. */
  readonly measure: <T>(type: string, name: string, fn: () => Promise<T> | T) => Promise<T>
  /** Records a request measured elsewhere. */
  readonly record: (sample: RecordSample) => void
  /**
   * Databases: `db.postgres(target)` / `db.mysql(target)` give a client on the worker's pool for that target
   * (one pool per worker, shared by its users), whose queries and transactions are recorded.
   */
  readonly db: DbApi
  /** Per-user state, made by the user's `state()` factory. */
  state: State
  /** The worker's logger; never use it per request. */
  readonly log: Logger
  /** Trips when this user is being stopped; pass it to your own clients. */
  readonly signal: AbortSignal
  /** The user-class name (the key in `users`). */
  readonly userClass: string
  /** 0-based ordinal of this user within the worker. */
  readonly userIndex: number
  /** Worker index given by the master (`ack.index`), or 0 when unknown. */
  readonly workerIndex: number
}

export interface RecordSample {
  /** Request type shown in the stats table: 'GET', 'SQL', 'grpc', ... */
  type: string
  name: string
  /** Milliseconds. null means "no response time" (counted in num_none_requests). */
  responseTimeMs: number | null
  /** Bytes received. */
  bytes?: number
  /** An Error or a message makes this a failure. */
  error?: Error | string | null
}

/** A task body: gets the user's context; its promise (if any) is awaited before the next task. */
export type TaskFn<State = unknown> = (ctx: TaskContext<State>) => unknown

export interface TaskDefinition<State = unknown> {
  readonly weight: number
  readonly fn: TaskFn<State>
}

export interface UserOptions<State = unknown> {
  /** Relative share of users of this class (Locust `weight`). Default 1. */
  weight?: number
  /** Exactly this many users of this class across the run (Locust `fixed_count`); weight then ignored. */
  fixedCount?: number
  /** Wait between tasks: between('1s','2s'), constant('1s'), constantPacing('2s'), constantThroughput(0.5). */
  wait?: WaitSpec
  /** Weighted tasks, picked at random by weight. The key is the task's name in logs and errors. */
  tasks?: Record<string, TaskDefinition<State> | TaskFn<State>>
  /** An ordered flow, run top to bottom, then again. Exclusive with `tasks`. */
  sequence?: ReadonlyArray<TaskFn<State> | TaskDefinition<State>>
  /** Makes this user's private state. */
  state?: () => State
  /** Runs once when the user starts, before any task (log in, open a connection). */
  onStart?: TaskFn<State>
  /** Runs once when the user stops gracefully. */
  onStop?: TaskFn<State>
}

export interface UserDefinition<State = unknown> extends UserOptions<State> {
  readonly kind: 'horde.user'
}

export interface HttpOptions {
  /**
   * Reuse connections between requests (HTTP keep-alive). true (default) measures the service as browsers
   * and SDKs use it; false opens a new TCP connection per request (Go's DisableKeepAlives), which also
   * measures connection setup and spreads load across a load balancer's backends.
   */
  keepAlive?: boolean
  /**
   * Connections per origin in one worker. null (default) allows one per concurrent request, so each user
   * gets its own socket as in Locust. A number caps the pool: requests then queue for a free connection.
   */
  connections?: number | null
  /** Per-request timeout ('30s' default): headers and body each must arrive within it. */
  timeout?: string
  /** Headers sent with every request. */
  headers?: Record<string, string>
}

/** An open-model stage: the rate moves linearly from the previous stage's rate to `rps` over `duration`. */
export interface RateStage {
  duration: string
  rps: number
}

export interface Stage {
  duration: string
  users: number
  spawnRate?: number
}

export interface ScenarioOptions {
  /** Shown in reports and used to group run history. */
  name: string
  /** Base URL for `http`; --host / HORDE_HOST / the master's host override it. */
  host?: string
  // `any` on purpose: each user class has its own State type, and a record of differently-typed users must
  // accept them all (UserDefinition<State> is invariant in State). Each user() call stays fully typed.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  users: Record<string, UserDefinition<any>>
  http?: HttpOptions
  /** k6-style thresholds: { 'http_req_duration{name:/}': ['p(95)<400'], http_req_failed: ['rate<0.01'] } */
  thresholds?: Record<string, ReadonlyArray<string | { threshold: string; abortOnFail?: boolean }>>
  /** Load shape: stages of { duration, users, spawnRate }, run in order. */
  stages?: Stage[]
  /**
   * Open model: iterations (one task by weight, or one pass of a `sequence`) start at this global rate per
   * second, split across workers, whatever the target's latency. Or stages of { duration, rps }, each ramping
   * linearly from the previous rate. `users` (or --users) then bounds the iterations in flight.
   */
  rate?: number | RateStage[]
  /** Open model: dropped iterations are expected (a stress test), so they do not make the run `invalid`. */
  dropsExpected?: boolean
  /** Excluded from headline numbers and thresholds. */
  warmup?: string
  /** How long users get to finish their task when stopped ('0s' default: stop at once). */
  stopTimeout?: string
  /**
   * Datadog APM: a client span per request for this share of requests (0 < sample ≤ 1, default 0.01), with
   * Datadog and W3C trace headers so the target's spans join. `--trace-sample` overrides the sample.
   */
  trace?: { sample?: number }
  /**
   * Runs before the load, on one worker (every worker with `initPerAgent`), behind a barrier: no user starts
   * anywhere until it has finished everywhere. A throw (or a worker dying in it) makes the run `invalid`.
   * Horde master only.
   */
  init?: PhaseFn
  /** Run `init` on every worker, each with its `agentId` (e.g. to load its own slice of the data). */
  initPerAgent?: boolean
  /**
   * Runs once after every worker has stopped its load (a barrier), e.g. to check invariants: a throw makes the
   * run `fail` with its message. Horde master only.
   */
  fin?: PhaseFn
  /**
   * Closed model: at most this many tasks (transactions) per second across the whole run, split over the workers
   * by their users (JdbcRunner's throttle). A cap, not a target: a slow database gets fewer. Horde workers only.
   */
  throttle?: number
}

/** A validated scenario, as loaded. Frozen. */
export interface Scenario extends ScenarioOptions {
  readonly kind: 'horde.scenario'
}
