import { MasterSocket } from '../protocol/transport.js'
import type { Envelope, MasterToWorker, StatsReport, WorkerToMaster } from '../protocol/messages.js'
import type { Logger } from '../shared/logger.js'
import type { RunEvent, RunEventKind, ThresholdResult } from '../shared/result.js'
import { StatsAggregator } from './aggregator.js'
import { UserSequence, nextRampTotal, rampStep, sortWorkers } from './dispatch.js'
import { planDurationMs, rateAt, targetAt, type MasterPlan, type RateNow } from './plan.js'
import { OpenModelStats } from './open-model-stats.js'
import { decodeHordeExtension, unknownHordeExtensionVersion } from '../protocol/horde-extension.js'
import { ReportQueue } from './report-queue.js'
import {
  HORDE_FINAL_MESSAGE,
  HORDE_JOIN_MESSAGE,
  HORDE_REFUSED_MESSAGE,
  parseHordeFinal,
} from '../protocol/horde-peer.js'
import { throttleShares } from './throttle-split.js'
import { PhaseBarrier, type PhaseFailure } from './phase-barrier.js'
import { HORDE_CONTROL_MESSAGE, type HordeControl } from '../protocol/horde-control.js'
import { RateLimitedWarning } from '../shared/rate-limited-log.js'
import { JoinGate } from './join-gate.js'
import { evaluateThreshold, parseThreshold, type ParsedThreshold } from './thresholds.js'
import { SaturationCounter } from './saturation.js'
import {
  HEARTBEAT_TIMEOUT_MS,
  HORDE_HEARTBEAT_TIMEOUT_MS,
  MISSING_REMOVAL_MS,
  WorkerRegistry,
  type WorkerNode,
} from './worker-registry.js'

export type RunPhase = 'waiting' | 'running' | 'stopping' | 'done'
export type StopCause = 'duration' | 'person' | 'threshold' | 'no-workers' | 'workers-never-came'

/** One sample per second: what the master asked for and what the workers said they ran. */
export interface Sample {
  second: number
  targetUsers: number
  dispatchedUsers: number
  users: number
  workers: number
  phase: string
  warmup: boolean
  /** Open model: the global rate the master asked for in this second. */
  targetRps?: number
  paused?: boolean
}

export interface Progress {
  elapsedMs: number
  users: number
  targetUsers: number
  workers: number
  rps: number
  failuresPerSec: number
  /** Task exceptions workers reported per second (a worker sends at most 50 a second). */
  exceptionsPerSec: number
  p95Ms: number | null
  phase: RunPhase
  warmup: boolean
  /** Open model only: the rate asked for now, and iterations started and dropped per second (same window as rps). */
  open?: { targetRps: number; startedPerSec: number; droppedPerSec: number }
}

export interface CoordinatorOptions {
  plan: MasterPlan
  bindHost: string
  bindPort: number
  logger: Logger
  onProgress?: (progress: Progress) => void
  onEvent?: (event: RunEvent) => void
  /** Horde peers must prove they hold this secret to join (Locust peers cannot and are let in). */
  joinSecret?: string | null
}

export interface RunOutcome {
  cause: StopCause
  stopReason: string | null
  startedAtMs: number
  loadStartedAtMs: number | null
  measuredFromMs: number
  measuredToMs: number
  endedAtMs: number
  aggregator: StatsAggregator
  registry: WorkerRegistry
  events: RunEvent[]
  samples: Sample[]
  abortedBy: ThresholdResult | null
  exceptions: Array<{ count: number; msg: string; traceback: string; nodes: string[] }>
  /** Workers lost (missing or gone without quit) and never replaced. */
  lostWorkers: string[]
  /** Open model only: iterations, target rate and corrected latency. */
  open?: OpenModelStats | null
  /** Tasks workers left running after the stop timeout so they could exit (from their `horde_final`). */
  abandonedTasks?: number
  /** Workers that were sent `quit` at the end but never confirmed it within the bound (may still be loading). */
  unconfirmedWorkers?: string[]
  /** init / fin that did not pass (init: the run is invalid; fin: it fails). Empty without phases. */
  phaseFailures?: PhaseFailure[]
}

/** A change asked for while the run goes on (control API, `horde ctl`). */
export interface Retarget {
  users?: number
  spawnRate?: number
  rps?: number
  /** Open model: reach `rps` by a linear ramp over this long (0: at once). */
  rampMs?: number
}

const RATE_WINDOW_SECONDS = 3
/** Beyond the stop timeout: how long workers get to send their final stats and confirm `quit`. */
const QUIT_CONFIRM_GRACE_MS = 5000
/** A report that waited this long to be merged, or a 1 s tick this late, means the master is falling behind. */
const BEHIND_MS = 2000

interface PendingReport {
  workerId: string
  report: StatsReport
  receivedAtMs: number
}
/** Reports arrive every 3 s: seconds older than this are complete enough for the live rate. */
const RATE_LAG_SECONDS = 4

/**
 * The Horde master: a ROUTER speaking Locust's protocol to any mix of Python and Horde workers. It registers
 * workers, tracks liveness, ramps users by repeated `spawn` messages, rebalances when workers come and go, merges
 * stats and decides when the run ends. The verdict is computed from its outcome (verdict.ts).
 */
export class Coordinator {
  readonly plan: MasterPlan
  readonly aggregator = new StatsAggregator()
  readonly registry = new WorkerRegistry()
  readonly events: RunEvent[] = []
  readonly samples: Sample[] = []
  readonly #socket: MasterSocket
  readonly #log: Logger
  readonly #options: CoordinatorOptions
  readonly #sequence: UserSequence
  readonly #thresholds: ParsedThreshold[]
  readonly #exceptions = new Map<
    string,
    { count: number; msg: string; traceback: string; nodes: Set<string> }
  >()
  readonly #startedAtMs = Date.now()
  #phase: RunPhase = 'waiting'
  #loadStartMs: number | null = null
  #stopRequestedAtMs: number | null = null
  #cause: StopCause = 'duration'
  #stopReason: string | null = null
  #abortedBy: ThresholdResult | null = null
  #dispatched = 0
  #target = 0
  #spawnRate = 1
  #stage = -2
  #rampTimer: NodeJS.Timeout | null = null
  #tick: NodeJS.Timeout | null = null
  #livenessTick: NodeJS.Timeout | null = null
  #lastSpawnTimestamp = 0
  #warmupEnded = false
  #lostWorkers = new Set<string>()
  readonly #saturation = new SaturationCounter()
  /** Arrival times of recent exceptions, for the progress line's exc/s (bounded: workers send ≤ 50/s each). */
  #exceptionTimes: number[] = []
  #stopWaiter: (() => void) | null = null
  readonly openStats: OpenModelStats | null
  #paused = false
  /** Set by a retarget: replaces the plan's users schedule for the rest of the run. */
  #usersOverride: { users: number; spawnRate: number } | null = null
  /** Set by a retarget: replaces the plan's rate schedule for the rest of the run. */
  #rateOverride: { fromRps: number; toRps: number; startMs: number; rampMs: number } | null = null
  #rateStage = -2
  #warnedNotOpen = new Set<string>()
  readonly #abandoned = new Map<string, number>()
  #unconfirmed: string[] = []
  readonly #dropWarning: RateLimitedWarning
  readonly #unknownWarning: RateLimitedWarning
  readonly #joinGate: JoinGate
  /** Reports merge in time-boxed slices, so a burst never holds the loop (report-queue.ts). */
  readonly #reports: ReportQueue<PendingReport>
  #warnedVersion = new Set<string>()
  #behind = false
  #lastTickMs: number | null = null
  /** init / fin barriers across the workers (phase-barrier.ts); failures go into the outcome for the verdict. */
  readonly #phases: PhaseBarrier
  readonly #phaseFailures: PhaseFailure[] = []

  private constructor(options: CoordinatorOptions, socket: MasterSocket) {
    this.plan = options.plan
    this.#options = options
    this.#log = options.logger
    this.#socket = socket
    this.#sequence = new UserSequence(options.plan.userClasses)
    this.#thresholds = options.plan.thresholds.map(parseThreshold)
    this.openStats = options.plan.open === null ? null : new OpenModelStats()
    this.#dropWarning = new RateLimitedWarning(this.#log, 'frame from worker dropped')
    this.#unknownWarning = new RateLimitedWarning(
      this.#log,
      'message from an unregistered worker ignored (it never sent client_ready, or was refused)',
    )
    this.#joinGate = new JoinGate(options.joinSecret ?? null, this.#log)
    this.#phases = new PhaseBarrier(this.registry, (id, message) => this.#send(id, message), this.#log)
    this.#reports = new ReportQueue<PendingReport>(
      (pending) => this.#mergeReport(pending),
      8,
      (error) => this.#log.error({ err: error }, 'stats report merge failed'),
    )
    socket.onMessage((routingId, envelope) => this.#onMessage(routingId, envelope))
    socket.onDrop((routingId, reason) => this.#onDrop(routingId, reason))
  }

  /** Binds the ROUTER socket; workers may connect from then on. */
  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    // Thresholds are parsed before binding so a typo fails before anything else happens.
    options.plan.thresholds.forEach(parseThreshold)
    const socket = await MasterSocket.bind({
      host: options.bindHost,
      port: options.bindPort,
      logger: options.logger,
    })
    return new Coordinator(options, socket)
  }

  get port(): number {
    return this.#socket.port
  }

  get phase(): RunPhase {
    return this.#phase
  }

  get loadStartedAtMs(): number | null {
    return this.#loadStartMs
  }

  get targetUsers(): number {
    return this.#target
  }

  get dispatchedUsers(): number {
    return this.#dispatched
  }

  /** Asks the run to end now (control API, SIGTERM, Ctrl-C): the verdict becomes `stopped`. */
  requestStop(reason: string, cause: StopCause = 'person'): void {
    if (this.#phase === 'stopping' || this.#phase === 'done') return
    this.#cause = cause
    this.#stopReason = reason
    if (cause === 'person') this.#event('stop-requested', reason)
    this.#stopWaiter?.()
  }

  /** Waits for workers, runs the load for the plan's duration (or until stopped), and stops the workers. */
  async run(): Promise<RunOutcome> {
    this.#tick = setInterval(() => this.#onTick(), 1000)
    // Liveness is checked four times a second so a lost worker's load moves within a heartbeat timeout.
    this.#livenessTick = setInterval(() => this.#safely(() => this.#checkLiveness(Date.now(), false)), 250)
    try {
      const came = await this.#waitForWorkers()
      const initFailure = came ? await this.#phases.init(this.plan.phases) : null
      if (initFailure !== null) {
        this.#phaseFailures.push(initFailure)
        this.#stopReason = initFailure.message
        this.#event('phase-failed', initFailure.message, { phase: 'init' })
      } else if (came) {
        this.#startLoad()
        await this.#waitUntil(planDurationMs(this.plan))
      }
      await this.#stopWorkers()
    } finally {
      if (this.#tick !== null) clearInterval(this.#tick)
      if (this.#livenessTick !== null) clearInterval(this.#livenessTick)
      if (this.#rampTimer !== null) clearTimeout(this.#rampTimer)
      this.#phase = 'done'
      this.#dropWarning.flush()
      this.#unknownWarning.flush()
      this.#joinGate.flush()
      await this.#socket.close()
    }
    this.#reports.flush()
    const measuredFromMs = this.#measuredFromMs()
    return {
      cause: this.#cause,
      stopReason: this.#stopReason,
      startedAtMs: this.#startedAtMs,
      loadStartedAtMs: this.#loadStartMs,
      measuredFromMs,
      measuredToMs: Math.max(measuredFromMs, this.#stopRequestedAtMs ?? Date.now()),
      endedAtMs: Date.now(),
      aggregator: this.aggregator,
      registry: this.registry,
      events: this.events,
      samples: this.samples,
      abortedBy: this.#abortedBy,
      exceptions: [...this.#exceptions.values()].map((e) => ({ ...e, nodes: [...e.nodes] })),
      lostWorkers: [...this.#lostWorkers],
      open: this.openStats,
      abandonedTasks: [...this.#abandoned.values()].reduce((a, b) => a + b, 0),
      unconfirmedWorkers: this.#unconfirmed,
      phaseFailures: this.#phaseFailures,
    }
  }

  get paused(): boolean {
    return this.#paused
  }

  /** Open model: the global rate asked for now (null in the closed model). */
  get targetRps(): number | null {
    return this.plan.open === null || this.#loadStartMs === null ? null : this.#rateNow(Date.now()).rps
  }

  /**
   * Stops starting new tasks/iterations; in-flight ones finish and stats keep flowing. Horde workers pause
   * themselves; Locust workers cannot, so their users are stopped (spawn 0) and started again on resume.
   */
  pause(reason = 'paused through the control API'): boolean {
    if (this.#phase !== 'running' || this.#paused) return false
    this.#paused = true
    this.#event('paused', reason)
    this.#broadcastControl({ v: 1, paused: true })
    this.#rebalance()
    return true
  }

  resume(reason = 'resumed through the control API'): boolean {
    if (this.#phase !== 'running' || !this.#paused) return false
    this.#paused = false
    this.#event('resumed', reason)
    this.#broadcastControl({ v: 1, paused: false })
    this.#rebalance()
    return true
  }

  /** Changes users (closed model, ramped at the spawn rate) or the rate (open model) for the rest of the run. */
  retarget(change: Retarget): { ok: true } | { ok: false; error: string } {
    if (this.#phase !== 'running') return { ok: false, error: `the run is ${this.#phase}, not running` }
    if (this.plan.open !== null) {
      if (change.rps === undefined) {
        return {
          ok: false,
          error: 'this run is in the open model: retarget it with rps (and optionally rampMs)',
        }
      }
      const now = Date.now()
      const fromRps = this.#rateNow(now).rps
      this.#rateOverride = { fromRps, toRps: change.rps, startMs: now, rampMs: change.rampMs ?? 0 }
      this.#event(
        'retargeted',
        `rate ${round1(fromRps)}/s → ${change.rps}/s over ${(change.rampMs ?? 0) / 1000} s`,
        {
          fromRps,
          toRps: change.rps,
          rampMs: change.rampMs ?? 0,
        },
      )
      this.#sendOpenRates()
      return { ok: true }
    }
    if (change.users === undefined) {
      return {
        ok: false,
        error: 'this run is in the closed model: retarget it with users (and optionally spawnRate)',
      }
    }
    const spawnRate = change.spawnRate ?? this.#spawnRate
    this.#usersOverride = { users: change.users, spawnRate }
    this.#event('retargeted', `users ${this.#target} → ${change.users} at ${spawnRate}/s`, {
      fromUsers: this.#target,
      toUsers: change.users,
      spawnRate,
    })
    this.#applySchedule()
    return { ok: true }
  }

  /** Closes the socket without a run (errors before the run started). */
  async close(): Promise<void> {
    await this.#socket.close()
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  async #waitForWorkers(): Promise<boolean> {
    const deadline = Date.now() + this.plan.expectWorkersTimeoutMs
    let lastLog = 0
    while (this.registry.active().filter((n) => n.state === 'ready').length < this.plan.expectWorkers) {
      if (this.#stopReason !== null) return false
      if (Date.now() >= deadline) {
        this.#cause = 'workers-never-came'
        this.#stopReason = `only ${this.registry.active().length} of ${this.plan.expectWorkers} expected workers connected within ${Math.round(this.plan.expectWorkersTimeoutMs / 1000)} s`
        this.#log.error(
          { expected: this.plan.expectWorkers, connected: this.registry.active().length },
          'expected workers never came',
        )
        return false
      }
      if (Date.now() - lastLog >= 5000) {
        lastLog = Date.now()
        this.#log.info(
          { connected: this.registry.active().length, expected: this.plan.expectWorkers },
          'waiting for workers',
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return true
  }

  #startLoad(): void {
    this.#phase = 'running'
    this.#loadStartMs = Date.now()
    if (this.plan.warmupMs > 0) {
      this.aggregator.setMeasuredFromSec(Math.ceil((this.#loadStartMs + this.plan.warmupMs) / 1000))
    }
    if (this.openStats !== null) this.openStats.measuredFromSec = this.aggregator.measuredFromSec
    this.#log.info(
      { users: this.plan.users, spawnRate: this.plan.spawnRate, workers: this.registry.active().length },
      'load started',
    )
    this.#applySchedule()
  }

  #measuredFromMs(): number {
    if (this.#loadStartMs === null) return this.#startedAtMs
    if (this.plan.warmupMs > 0) return this.aggregator.measuredFromSec * 1000
    return this.#loadStartMs
  }

  /** Resolves after `durationMs` of load or when a stop is requested. */
  async #waitUntil(durationMs: number): Promise<void> {
    if (this.#stopReason !== null) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(
        resolve,
        Math.max(0, (this.#loadStartMs ?? Date.now()) + durationMs - Date.now()),
      )
      this.#stopWaiter = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.#stopWaiter = null
  }

  /**
   * Ends the load as a headless Locust master does: `quit` to every worker, then wait for each worker's final
   * stats and `quit` (the final report comes after users stopped, gracefully up to stop_timeout).
   *
   * Every known worker is waited for, missing ones included: a worker whose loop was blocked past the
   * heartbeat timeout may still be loading the target when it wakes, and only its `quit` (or its own master
   * timeout, once this socket is closed) ends that. A worker that goes missing while we wait has had its
   * chance; one that never confirms within the bound is named in an event and in result.json.
   */
  async #stopWorkers(): Promise<void> {
    this.#stopRequestedAtMs = Date.now()
    this.#phase = 'stopping'
    if (this.#rampTimer !== null) clearTimeout(this.#rampTimer)
    this.#event('stopped', this.#stopReason ?? 'run time reached', { cause: this.#cause })
    if (this.#loadStartMs !== null && this.#phaseFailures.length === 0) {
      const finFailure = await this.#phases.fin(this.plan.phases, this.plan.stopTimeoutMs + 15_000)
      if (finFailure !== null) {
        this.#phaseFailures.push(finFailure)
        this.#event('phase-failed', finFailure.message, { phase: 'fin' })
      }
    }
    const waitMs = this.plan.stopTimeoutMs + QUIT_CONFIRM_GRACE_MS
    const deadline = Date.now() + waitMs
    const missingAtStop = new Set(
      [...this.registry.nodes.values()].filter((n) => n.state === 'missing').map((n) => n.id),
    )
    for (const node of this.registry.nodes.values()) this.#send(node.id, { type: 'quit' })
    const pending = (): WorkerNode[] =>
      [...this.registry.nodes.values()].filter(
        (n) => n.state !== 'quit' && (n.state !== 'missing' || missingAtStop.has(n.id)),
      )
    await new Promise<void>((resolve) => {
      const poll = (): void => {
        if (pending().length === 0 || Date.now() >= deadline) {
          resolve()
          return
        }
        setTimeout(poll, 50)
      }
      poll()
    })
    const unconfirmed = pending()
    if (unconfirmed.length > 0) {
      this.#unconfirmed = unconfirmed.map((n) => n.id)
      this.#event(
        'workers-unconfirmed',
        `${unconfirmed.length} worker(s) did not confirm quit within ${Math.round(waitMs / 1000)} s (worker ${unconfirmed.map((n) => n.index).join(', ')}): each stops by itself within its master timeout once this master is gone`,
        { workers: this.#unconfirmed, waitedMs: waitMs },
      )
    }
    const abandoned = [...this.#abandoned.values()].reduce((a, b) => a + b, 0)
    if (abandoned > 0) {
      this.#event(
        'tasks-abandoned',
        `${abandoned} task(s) ignored the stop and were abandoned by their workers after the stop timeout`,
        { abandonedTasks: abandoned, byWorker: Object.fromEntries(this.#abandoned) },
      )
    }
  }

  // ---- dispatch ----------------------------------------------------------------------------------

  /** Applies the stage (or constant target) in force now; called at start and every tick. */
  #applySchedule(): void {
    if (this.#phase !== 'running' || this.#loadStartMs === null) return
    if (this.plan.open !== null) {
      this.#applyRateSchedule()
      return
    }
    const elapsed = Date.now() - this.#loadStartMs
    const { users, spawnRate, stage } =
      this.#usersOverride === null
        ? targetAt(this.plan, elapsed)
        : { ...this.#usersOverride, stage: this.#stage }
    if (stage !== this.#stage) {
      if (stage >= 0) {
        this.#event(
          'stage-started',
          `stage ${stage + 1} of ${this.plan.stages?.length ?? 0}: ${users} users at ${spawnRate}/s`,
          {
            stage,
            users,
            spawnRate,
          },
        )
      }
      this.#stage = stage
    }
    if (users !== this.#target || spawnRate !== this.#spawnRate) {
      this.#target = users
      this.#spawnRate = spawnRate
      if (this.#rampTimer === null) this.#rampStep()
    }
  }

  #rampStep(): void {
    this.#rampTimer = null
    if (this.#phase !== 'running') return
    const { usersPerStep, intervalMs } = rampStep(this.#spawnRate)
    const next = nextRampTotal(this.#dispatched, this.#target, usersPerStep)
    this.#sendTable(next)
    if (next !== this.#target) {
      this.#rampTimer = setTimeout(() => this.#rampStep(), intervalMs)
    } else {
      this.#event(
        'spawn-complete',
        `${next} users dispatched over ${this.registry.active().length} workers`,
        { users: next },
      )
      for (const node of this.registry.active())
        this.#send(node.id, { type: 'spawningComplete', userCount: next })
    }
  }

  /** Sends the absolute table for `total` users to every active worker (Locust sends it even when unchanged). */
  #sendTable(total: number): void {
    this.#dispatched = total
    const workers = sortWorkers(this.registry.active().map((n) => n.id))
    const table = this.#sequence.distribute(total, workers)
    if (this.#paused) {
      // Locust workers cannot pause: their users stop (spawn 0) until resume. Horde workers pause themselves.
      for (const [id, counts] of table) {
        if (this.registry.get(id)?.version !== -1) {
          table.set(id, Object.fromEntries(Object.keys(counts).map((name) => [name, 0])))
        }
      }
    }
    for (const [id, userClassesCount] of table) {
      this.#send(id, {
        type: 'spawn',
        timestamp: this.#nextSpawnTimestamp(),
        userClassesCount,
        host: this.plan.host,
        stopTimeoutSec: this.plan.stopTimeoutMs / 1000,
        parsedOptions: {},
      })
    }
    if (this.plan.throttleTps !== undefined) {
      const shares = throttleShares(
        this.plan.throttleTps,
        table,
        (id) => this.registry.get(id)?.version === -1,
      )
      for (const [id, throttleTps] of shares) this.#send(id, this.#control({ v: 1, throttleTps }))
    }
  }

  /** Strictly increasing, never integral (P7): workers drop a spawn whose timestamp is not newer. */
  #nextSpawnTimestamp(): number {
    let timestamp = Date.now() / 1000
    if (timestamp <= this.#lastSpawnTimestamp) timestamp = this.#lastSpawnTimestamp + 0.0001
    if (Number.isInteger(timestamp)) timestamp += 0.0001
    this.#lastSpawnTimestamp = timestamp
    return timestamp
  }

  /** Redistributes the current users (or rate) over the current workers at once (join, loss, recovery). */
  #rebalance(): void {
    if (this.#phase !== 'running') return
    if (this.plan.open !== null) this.#sendOpenRates()
    else this.#sendTable(this.#dispatched)
  }

  // ---- open model --------------------------------------------------------------------------------

  /** The global rate now and where it is heading: the plan's stages, or the last retarget. */
  #rateNow(now: number): RateNow {
    const open = this.plan.open
    if (open === null || this.#loadStartMs === null)
      return { rps: 0, targetRps: 0, remainingMs: 0, stage: -1 }
    const override = this.#rateOverride
    if (override !== null) {
      const into = now - override.startMs
      if (override.rampMs <= 0 || into >= override.rampMs) {
        return { rps: override.toRps, targetRps: override.toRps, remainingMs: 0, stage: this.#rateStage }
      }
      const rps = override.fromRps + ((override.toRps - override.fromRps) * into) / override.rampMs
      return { rps, targetRps: override.toRps, remainingMs: override.rampMs - into, stage: this.#rateStage }
    }
    return rateAt(open, now - this.#loadStartMs)
  }

  /** Sends rates at load start (#rateStage starts at -2, which no stage has) and at each stage change. */
  #applyRateSchedule(): void {
    const now = this.#rateNow(Date.now())
    if (this.#rateOverride === null && now.stage !== this.#rateStage) {
      this.#rateStage = now.stage
      if (now.stage >= 0) {
        this.#event(
          'stage-started',
          `rate stage ${now.stage + 1} of ${this.plan.open?.stages?.length ?? 0}: to ${now.targetRps}/s over ${Math.round(now.remainingMs / 1000)} s`,
          { stage: now.stage, targetRps: now.targetRps },
        )
      }
      this.#sendOpenRates()
    }
  }

  /** Workers that can run the open model: Horde (and Boomer) announce -1; Locust workers cannot. */
  #openWorkers(): WorkerNode[] {
    const workers = this.registry.active()
    for (const node of workers) {
      if (node.version !== -1 && !this.#warnedNotOpen.has(node.id)) {
        this.#warnedNotOpen.add(node.id)
        this.#log.warn(
          { workerId: node.id, version: node.version },
          'a Locust worker cannot run the open model (target rate): it gets no load; use Horde workers',
        )
      }
    }
    return workers.filter((node) => node.version === -1)
  }

  /**
   * Splits the global rate and the in-flight bound across the Horde workers: the rate now at once, then the
   * ramp to where the stage (or retarget) is heading in the time left. Called at start, at each stage, and
   * whenever the worker set changes, so the target keeps receiving the same rate when a worker dies.
   */
  #sendOpenRates(): void {
    if (this.#phase !== 'running' || this.plan.open === null) return
    const workers = this.#openWorkers()
    if (workers.length === 0) return
    const now = this.#rateNow(Date.now())
    const maxInFlight = Math.max(1, Math.ceil(this.plan.users / workers.length))
    for (const node of workers) {
      // A spawn with no users first: it carries the host and stop_timeout, and starts the test on the worker.
      this.#send(node.id, {
        type: 'spawn',
        timestamp: this.#nextSpawnTimestamp(),
        userClassesCount: Object.fromEntries(this.plan.userClasses.map((c) => [c.name, 0])),
        host: this.plan.host,
        stopTimeoutSec: this.plan.stopTimeoutMs / 1000,
        parsedOptions: {},
      })
      this.#send(
        node.id,
        this.#control({ v: 1, open: { rps: now.rps / workers.length, maxInFlight, rampMs: 0 } }),
      )
      if (now.remainingMs > 0 && now.targetRps !== now.rps) {
        this.#send(
          node.id,
          this.#control({
            v: 1,
            open: { rps: now.targetRps / workers.length, maxInFlight, rampMs: now.remainingMs },
          }),
        )
      }
      if (this.#paused) this.#send(node.id, this.#control({ v: 1, paused: true }))
    }
  }

  #control(data: HordeControl): MasterToWorker {
    return { type: 'custom', name: HORDE_CONTROL_MESSAGE, data }
  }

  /** Control for Horde workers only: a Locust worker would log "unknown message" for each. */
  #broadcastControl(data: HordeControl): void {
    for (const node of this.registry.active()) {
      if (node.version === -1) this.#send(node.id, this.#control(data))
    }
  }

  // ---- messages ----------------------------------------------------------------------------------

  #send(id: string, message: MasterToWorker): void {
    try {
      this.#socket.send(id, message)
    } catch (error) {
      this.#log.warn({ workerId: id, type: message.type, err: error }, 'send to worker failed')
    }
  }

  #onMessage(routingId: string, envelope: Envelope<WorkerToMaster>): void {
    try {
      this.#handle(routingId, envelope.message)
    } catch (error) {
      // A malformed-but-decodable message must never stop the master (P14).
      this.#log.error(
        { workerId: routingId, type: envelope.message.type, err: error },
        'worker message handling failed',
      )
    }
  }

  #handle(id: string, message: WorkerToMaster): void {
    const now = Date.now()
    const node = this.registry.get(id)
    if (message.type === 'custom' && message.name === HORDE_JOIN_MESSAGE) {
      this.#joinGate.onJoin(id, message.data)
      return
    }
    if (message.type === 'clientReady') {
      if (this.#joinGate.admits(id, message.version)) this.#onClientReady(id, message.version, now)
      else this.#send(id, this.#refusal())
      return
    }
    if (message.type === 'locustfileRequest') {
      // A Locust worker started with `-f -` asks before client_ready, under a temporary id.
      this.#send(id, {
        type: 'locustfileReply',
        data: { error: 'The Horde master does not serve locustfiles: start workers with -f <file>.' },
      })
      return
    }
    if (node === undefined) {
      // Locust discards reports from unknown workers too: a stray process must not inject stats.
      this.#unknownWarning.note({ workerId: id, type: message.type })
      return
    }
    switch (message.type) {
      case 'heartbeat': {
        if (node.state === 'quit') return
        // A worker that wakes up after we decided to stop (a blocked loop) hears `quit` again at once.
        if (this.#phase === 'stopping') this.#send(id, { type: 'quit' })
        node.lastHeartbeatMs = now
        node.cpuPercent = message.cpuPercent
        node.maxCpuPercent = Math.max(node.maxCpuPercent, message.cpuPercent)
        if (message.memoryBytes !== null)
          node.maxMemoryBytes = Math.max(node.maxMemoryBytes, message.memoryBytes)
        if (node.state === 'missing') {
          node.state = message.state
          node.missingSinceMs = null
          this.#lostWorkers.delete(id)
          this.#event('worker-recovered', `worker ${node.index} self-healed with a heartbeat`, {}, id)
          this.#rebalance()
        } else if (node.state !== 'stopped') {
          node.state = message.state
        }
        // Locust < 2.19 does not know master heartbeats and would log a warning for each one (D2).
        if (understands(node.version, 2, 19)) this.#send(id, { type: 'heartbeat' })
        return
      }
      case 'stats': {
        this.#reports.push({ workerId: id, report: message.report, receivedAtMs: now }, now)
        if (message.report.extra.horde !== undefined) node.sentHorde = true
        node.userCount = message.report.userCount
        node.userClassesCount = message.report.userClassesCount
        if (node.classNames === null) this.#learnClasses(node, Object.keys(message.report.userClassesCount))
        return
      }
      case 'spawning':
        if (node.state !== 'missing') node.state = 'spawning'
        return
      case 'spawningComplete':
        if (node.state !== 'missing') node.state = 'running'
        node.userClassesCount = message.userClassesCount
        node.userCount = Object.values(message.userClassesCount).reduce((a, b) => a + b, 0)
        return
      case 'clientStopped':
        node.state = 'stopped'
        this.#rebalance()
        return
      case 'quit':
        this.#onWorkerQuit(id, node)
        return
      case 'exception': {
        const key = message.traceback
        const entry = this.#exceptions.get(key) ?? {
          count: 0,
          msg: message.msg,
          traceback: message.traceback,
          nodes: new Set(),
        }
        entry.count += 1
        entry.nodes.add(id)
        this.#exceptions.set(key, entry)
        this.#exceptionTimes.push(Date.now())
        return
      }
      case 'logs':
        return
      case 'custom':
        if (message.name === HORDE_FINAL_MESSAGE) {
          const final = parseHordeFinal(message.data)
          if (final !== null && final.abandonedTasks > 0) this.#abandoned.set(id, final.abandonedTasks)
          return
        }
        if (this.#phases.onMessage(id, message.name, message.data)) return
        this.#log.debug({ workerId: id, name: message.name }, 'custom message ignored')
        return
    }
  }

  #refusal(): MasterToWorker {
    return {
      type: 'custom',
      name: HORDE_REFUSED_MESSAGE,
      data: { v: 1, reason: 'this master requires a join secret: none or a wrong one was proven' },
    }
  }

  #onClientReady(id: string, version: string | number | null, now: number): void {
    if (version === '') {
      // Debian's python3-locust 2.12.1 ships an empty __version__ (P6); Locust masters reject it, we accept it.
      this.#log.warn({ workerId: id }, 'worker sent an empty version (Debian locust 2.12.1?): accepted')
    } else if (version === null || (typeof version !== 'string' && version !== -1)) {
      this.#log.warn({ workerId: id, version }, 'worker sent an unusual version: accepted')
    }
    if (this.#phase === 'stopping' || this.#phase === 'done') {
      // A worker that re-registers after our quit (Python re-sends client_ready after stop) gets another quit.
      this.#send(id, { type: 'quit' })
      return
    }
    const { node, isNew } = this.registry.register(id, version, now)
    this.#send(id, { type: 'ack', index: node.index })
    this.#lostWorkers.delete(id)
    if (isNew) {
      this.#event('worker-joined', `worker ${node.index} joined (${describeKind(version)})`, { version }, id)
    }
    this.#log.info(
      { workerId: id, index: node.index, version, workers: this.registry.active().length },
      'worker ready',
    )
    this.#rebalance()
  }

  #onWorkerQuit(id: string, node: WorkerNode | undefined): void {
    if (node === undefined) return
    if (this.#phase === 'stopping' || this.#phase === 'done') {
      node.state = 'quit'
      return
    }
    // A worker leaving by itself (scale down, Ctrl-C): its users move to the others.
    this.registry.remove(id)
    node.state = 'quit'
    this.#event(
      'worker-removed',
      `worker ${node.index} quit; its users move to the ${this.registry.active().length} others`,
      { reason: 'quit' },
      id,
    )
    if (this.#phase === 'running' && this.registry.active().length === 0) {
      this.requestStop('the last worker quit', 'no-workers')
      return
    }
    this.#rebalance()
  }

  #onDrop(routingId: string | null, reason: string): void {
    this.#dropWarning.note({ workerId: routingId, reason })
    // Locust asks a known worker whose frame it could not decode to reset its connection (§3.2.7).
    if (routingId !== null && this.registry.get(routingId) !== undefined)
      this.#send(routingId, { type: 'reconnect' })
  }

  /** Python workers crash on a class they do not know (P16): say so loudly, with the fix. */
  #learnClasses(node: WorkerNode, names: string[]): void {
    if (names.length === 0) return
    node.classNames = new Set(names)
    const unknown = this.#sequence.classNames.filter((name) => !node.classNames?.has(name))
    if (unknown.length > 0) {
      this.#log.error(
        { workerId: node.id, workerClasses: names, planClasses: this.#sequence.classNames },
        `worker does not know user class(es) ${unknown.join(', ')}: name the classes in the locustfile as in the scenario`,
      )
    }
  }

  // ---- every second ------------------------------------------------------------------------------

  #onTick(): void {
    try {
      const now = Date.now()
      this.#checkBehind(now)
      this.#checkLiveness(now, true)
      this.#applySchedule()
      this.#checkWarmup(now)
      this.#sample(now)
      this.#checkAbortThresholds(now)
    } catch (error) {
      this.#log.error({ err: error }, 'master tick failed')
    }
  }

  /** Merges one report: its Horde extension is validated once and serves both the stats and the open model. */
  #mergeReport({ workerId, report, receivedAtMs }: PendingReport): void {
    const extension = decodeHordeExtension(report.extra)
    if (extension === null && !this.#warnedVersion.has(workerId)) {
      const version = unknownHordeExtensionVersion(report.extra)
      if (version !== null) {
        this.#warnedVersion.add(workerId)
        this.#log.warn(
          { workerId, extensionVersion: version },
          'worker sent a Horde stats extension this master does not read (another Horde version?): its percentiles use Locust buckets (±5 %); run the same Horde version on master and workers',
        )
      }
    }
    this.aggregator.addReport(workerId, report, receivedAtMs, extension)
    if (this.openStats !== null && extension !== null) this.openStats.add(extension)
  }

  /** A master that falls behind (reports waiting, ticks late) says so once, and again once it has caught up. */
  #checkBehind(now: number): void {
    const tickLateMs = this.#lastTickMs === null ? 0 : now - this.#lastTickMs - 1000
    this.#lastTickMs = now
    const waitingMs = this.#reports.oldestAgeMs(now)
    if (!this.#behind && (waitingMs >= BEHIND_MS || tickLateMs >= BEHIND_MS)) {
      this.#behind = true
      const details = { waitingReports: this.#reports.length, oldestReportWaitMs: waitingMs, tickLateMs }
      this.#log.warn(details, 'master is falling behind: stats are merged late and liveness may lag')
      this.#event(
        'master-behind',
        `master is falling behind: ${this.#reports.length} reports waiting (oldest ${Math.round(waitingMs / 1000)} s), ticks ${Math.round(tickLateMs)} ms late`,
        details,
      )
    } else if (this.#behind && waitingMs < BEHIND_MS / 4 && tickLateMs < BEHIND_MS / 4) {
      this.#behind = false
      this.#log.info({ waitingReports: this.#reports.length }, 'master caught up')
    }
  }

  /** Longest report-merge slice so far (ms): the master's own loop-turn cost for stats. */
  get maxMergeSliceMs(): number {
    return this.#reports.maxSliceMs
  }

  #safely(fn: () => void): void {
    try {
      fn()
    } catch (error) {
      this.#log.error({ err: error }, 'master tick failed')
    }
  }

  /** `everySecond`: also count saturated seconds (once per second, not on the quick liveness ticks). */
  #checkLiveness(now: number, everySecond: boolean): void {
    for (const node of [...this.registry.nodes.values()]) {
      if (node.state === 'quit') continue
      if (node.state === 'missing') {
        if (node.missingSinceMs !== null && now - node.missingSinceMs >= MISSING_REMOVAL_MS) {
          this.registry.remove(node.id)
          this.#event(
            'worker-removed',
            `worker ${node.index} removed after ${MISSING_REMOVAL_MS / 1000} s missing`,
            { reason: 'missing' },
            node.id,
          )
        }
        continue
      }
      const timeoutMs = node.version === -1 ? HORDE_HEARTBEAT_TIMEOUT_MS : HEARTBEAT_TIMEOUT_MS
      if (now - node.lastHeartbeatMs > timeoutMs) {
        node.state = 'missing'
        node.missingSinceMs = now
        node.missingEvents += 1
        node.userCount = 0
        node.userClassesCount = {}
        if (this.#phase === 'running') this.#lostWorkers.add(node.id)
        const survivors = this.registry.active().length
        this.#event(
          'worker-missing',
          `worker ${node.index} failed to send heartbeat for ${Math.round((now - node.lastHeartbeatMs) / 1000)} s: missing; its users move to the ${survivors} others`,
          { lastHeartbeatMs: node.lastHeartbeatMs },
          node.id,
        )
        if (this.#phase === 'running' && survivors === 0) {
          this.requestStop('the last worker went missing', 'no-workers')
        } else {
          this.#rebalance()
        }
        continue
      }
      if (!everySecond) continue
      const loopDelay = this.aggregator.eventLoopDelayMaxMs.get(node.id) ?? 0
      // A query that waited for the worker's own database pool queued in the generator, as a blocked loop does.
      const poolWait = this.aggregator.poolWaitMaxMs.get(node.id) ?? 0
      const added =
        this.#phase === 'running'
          ? this.#saturation.add(node.id, now, node.cpuPercent, Math.max(loopDelay, poolWait))
          : 0
      if (added > 0) {
        const before = node.saturatedSeconds
        node.saturatedSeconds += added
        if (before < 5 && node.saturatedSeconds >= 5) {
          this.#event(
            'worker-saturated',
            // Users and loop delay say why: thousands of users opening connections on one core, or a task
            // that blocks the loop (a synchronous driver), look alike in latencies but not here.
            `worker ${node.index} saturated for ${node.saturatedSeconds} s (${Math.round(node.cpuPercent)} % CPU, event loop blocked up to ${Math.round(loopDelay)} ms, database pool wait up to ${Math.round(poolWait)} ms, ${node.userCount} users): its latencies are suspect; spread the users over more workers`,
            { cpuPercent: node.cpuPercent, loopDelayMaxMs: loopDelay, users: node.userCount },
            node.id,
          )
        }
      }
      this.aggregator.eventLoopDelayMaxMs.delete(node.id)
      this.aggregator.poolWaitMaxMs.delete(node.id)
    }
  }

  #checkWarmup(now: number): void {
    if (this.#warmupEnded || this.#loadStartMs === null || this.plan.warmupMs <= 0) return
    if (now >= this.aggregator.measuredFromSec * 1000) {
      this.#warmupEnded = true
      this.#event('warmup-ended', `warm-up of ${this.plan.warmupMs / 1000} s ended: measuring from now`)
    }
  }

  #sample(now: number): void {
    const second = Math.floor(now / 1000)
    const users = this.registry.reportedUsers()
    const workers = this.registry.active().length
    const warmup = this.#loadStartMs !== null && second < this.aggregator.measuredFromSec
    if (this.#phase === 'running' || this.#phase === 'stopping') {
      const stage = this.plan.open !== null ? this.#rateStage : this.#stage
      const phase =
        this.#phase === 'stopping'
          ? 'stopping'
          : this.#paused
            ? 'paused'
            : stage >= 0
              ? `stage-${stage + 1}`
              : warmup
                ? 'warmup'
                : 'steady'
      const sample: Sample = {
        second,
        targetUsers: this.#target,
        dispatchedUsers: this.#dispatched,
        users,
        workers,
        phase,
        warmup,
        paused: this.#paused,
      }
      if (this.plan.open !== null && this.#phase === 'running') {
        // The rate at mid-second: the mean over the second during a linear ramp, as the started count is.
        const midSecond = Math.max(second * 1000 + 500, this.#loadStartMs ?? 0)
        const targetRps = this.#paused ? 0 : this.#rateNow(midSecond).rps
        sample.targetRps = targetRps
        this.openStats?.targetRps.set(second, targetRps)
      }
      this.samples.push(sample)
      const bin = this.aggregator.bin(second)
      bin.users = users
      bin.workers = workers
      bin.phase = phase
    }
    if (this.#options.onProgress !== undefined && this.#phase !== 'done') {
      const nowSec = second
      const from = nowSec - RATE_LAG_SECONDS - RATE_WINDOW_SECONDS + 1
      const { requests, failures } = this.aggregator.requestsBetween(from, from + RATE_WINDOW_SECONDS)
      let p95: number | null = null
      for (let s = from + RATE_WINDOW_SECONDS - 1; s >= from && p95 === null; s--) {
        p95 = this.aggregator.seconds.get(s)?.percentileMs(0.95) ?? null
      }
      // Exceptions arrive as they happen (not in 3 s reports): the last RATE_WINDOW_SECONDS, unlagged.
      const since = now - RATE_WINDOW_SECONDS * 1000
      this.#exceptionTimes = this.#exceptionTimes.filter((t) => t > since)
      this.#options.onProgress({
        elapsedMs: this.#loadStartMs === null ? 0 : now - this.#loadStartMs,
        exceptionsPerSec: this.#exceptionTimes.length / RATE_WINDOW_SECONDS,
        users,
        targetUsers: this.#target,
        workers,
        rps: requests / RATE_WINDOW_SECONDS,
        failuresPerSec: failures / RATE_WINDOW_SECONDS,
        p95Ms: p95,
        phase: this.#phase,
        warmup,
        ...(this.plan.open !== null && this.openStats !== null ? { open: this.#openProgress(from) } : {}),
      })
    }
  }

  /** The same lagged window as the progress line's rps, so that target and achieved compare like for like. */
  #openProgress(fromSec: number): NonNullable<Progress['open']> {
    const counts = this.openStats?.countsBetween(fromSec, fromSec + RATE_WINDOW_SECONDS)
    let target = 0
    for (let second = fromSec; second < fromSec + RATE_WINDOW_SECONDS; second++)
      target += this.openStats?.targetRps.get(second) ?? 0
    return {
      targetRps: target / RATE_WINDOW_SECONDS,
      startedPerSec: (counts?.started ?? 0) / RATE_WINDOW_SECONDS,
      droppedPerSec: (counts?.dropped ?? 0) / RATE_WINDOW_SECONDS,
    }
  }

  #checkAbortThresholds(now: number): void {
    if (this.#phase !== 'running' || this.#loadStartMs === null) return
    const measuredFrom = this.#measuredFromMs()
    if (now < measuredFrom) return
    for (const threshold of this.#thresholds) {
      if (!threshold.source.abortOnFail) continue
      if (now - measuredFrom < (threshold.source.delayAbortEvalMs ?? 0)) continue
      const result = evaluateThreshold(threshold, this.aggregator.measured, (now - measuredFrom) / 1000)
      if (result.observed !== null && !result.ok) {
        this.#abortedBy = result
        this.#event(
          'threshold-aborted',
          `threshold ${result.metric} ${result.expression} failed (observed ${result.observed}): aborting`,
          { ...result },
        )
        this.requestStop(`threshold ${result.metric} ${result.expression} failed`, 'threshold')
        return
      }
    }
  }

  #event(kind: RunEventKind, message: string, details?: Record<string, unknown>, workerId?: string): void {
    const event: RunEvent = { timeMs: Date.now(), kind, message }
    if (workerId !== undefined) event.workerId = workerId
    if (details !== undefined) event.details = details
    this.events.push(event)
    this.#log.info({ event: kind, workerId, ...details }, message)
    this.#options.onEvent?.(event)
  }
}

/**
 * Whether a worker that announced `version` understands a master message added in Locust major.minor.
 * Horde and Boomer (-1) do; Debian's 2.12.1 announces '' and does not.
 */
export function understands(version: string | number | null, major: number, minor: number): boolean {
  if (version === -1) return true
  if (typeof version !== 'string' || version === '') return false
  const match = /^(\d+)\.(\d+)/.exec(version)
  if (match === null) return true
  const [vMajor, vMinor] = [Number(match[1]), Number(match[2])]
  return vMajor > major || (vMajor === major && vMinor >= minor)
}

function describeKind(version: string | number | null): string {
  if (version === -1) return 'Horde/Boomer'
  if (version === '') return 'Locust, empty version (Debian 2.12.1)'
  return `Locust ${String(version)}`
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}
