import { MasterSocket } from '../protocol/transport.js'
import type { Envelope, WorkerToMaster } from '../protocol/messages.js'
import type { Logger } from '../shared/logger.js'
import type { RunEvent } from '../shared/result.js'
import { AbortThresholds } from './abort-thresholds.js'
import { StatsAggregator } from './aggregator.js'
import { ExceptionLog } from './exception-log.js'
import { InitFin } from './init-fin.js'
import { LoadModel } from './load-model.js'
import { MeasuredWindow } from './measured-window.js'
import { OpenModelStats } from './open-model-stats.js'
import { snapshotOutcome, type OutcomeSources } from './outcome-snapshot.js'
import { planDurationMs, type MasterPlan } from './plan.js'
import { RunControl, type Retarget, type RetargetAnswer } from './run-control.js'
import { RunEnding } from './run-ending.js'
import { RunEventLog } from './run-events.js'
import { RunTicker } from './run-ticker.js'
import type { RunOutcome } from './run-outcome.js'
import type { RunPhase, RunState, StopCause } from './run-state.js'
import { SecondSampler, type Progress, type Sample } from './second-sampler.js'
import { StatsIntake } from './stats-intake.js'
import { parseThreshold } from './thresholds.js'
import { WorkerHealthWatch } from './worker-health.js'
import { WorkerLink } from './worker-link.js'
import { WorkerMessages } from './worker-messages.js'
import { awaitWorkers, quitWorkers } from './worker-roll-call.js'
import { PhaseBarrier } from './phase-barrier.js'
import { WorkerRegistry } from './worker-registry.js'

export type { RunPhase, StopCause } from './run-state.js'
export type { Progress, Sample } from './second-sampler.js'
export type { RunOutcome } from './run-outcome.js'
export type { Retarget } from './run-control.js'
export { understands } from './worker-messages.js'

export interface CoordinatorOptions {
  plan: MasterPlan
  bindHost: string
  bindPort: number
  logger: Logger
  onProgress?: (progress: Progress) => void
  onEvent?: (event: RunEvent) => void
  /** After each second is sampled while the run goes on (live metrics subscribe here). */
  onSecond?: (second: number) => void
  /** Each stats report's extra fields, after its merge (trace samples are read here). */
  onReportExtra?: (extra: Record<string, unknown>) => void
  /** Horde peers must prove they hold this secret to join (Locust peers cannot and are let in). */
  joinSecret?: string | null
}

/**
 * The Horde master: a ROUTER speaking Locust's protocol to any mix of Python and Horde workers. It wires the
 * parts together and owns the run's lifecycle: wait for workers, start the load, tick every second, stop the
 * workers, and hand back a frozen outcome (the verdict is computed from it in verdict.ts).
 *
 * The parts: worker-messages (what workers send), worker-registry (who is there, liveness), load-model (the
 * closed-model planner or the open-model rate splitter), stats-intake (reports into the aggregator),
 * second-sampler (samples and progress), worker-health (saturation), run-ticker (the clock), run-control
 * (pause, resume, retarget), init-fin, run-ending (why and when it stops), outcome-snapshot, run-events.
 */
export class Coordinator {
  readonly plan: MasterPlan
  readonly aggregator = new StatsAggregator()
  readonly registry = new WorkerRegistry()
  readonly openStats: OpenModelStats | null
  readonly #socket: MasterSocket
  readonly #log: Logger
  readonly #state: RunState = { phase: 'waiting', paused: false, loadStartMs: null, quitSent: false }
  readonly #events: RunEventLog
  readonly #link: WorkerLink
  readonly #model: LoadModel
  readonly #control: RunControl
  readonly #sampler: SecondSampler
  readonly #intake: StatsIntake
  readonly #health: WorkerHealthWatch
  readonly #exceptions = new ExceptionLog()
  readonly #messages: WorkerMessages
  readonly #startedAtMs = Date.now()
  readonly #window: MeasuredWindow
  readonly #ending: RunEnding
  readonly #ticker: RunTicker
  readonly #lostWorkers = new Set<string>()
  readonly #abandoned = new Map<string, number>()
  readonly #unconfirmed: string[] = []
  /** init / fin barriers across the workers (phase-barrier.ts); failures go into the outcome for the verdict. */
  readonly #phases: PhaseBarrier
  readonly #initFin: InitFin
  readonly #outcomeSources: OutcomeSources

  private constructor(options: CoordinatorOptions, socket: MasterSocket) {
    const { plan, logger: log } = options
    this.plan = plan
    this.#log = log
    this.#socket = socket
    this.openStats = plan.open === null ? null : new OpenModelStats()
    this.#events = new RunEventLog(log, options.onEvent)
    this.#ending = new RunEnding(this.#state, this.#events)
    this.#link = new WorkerLink(socket, log, this.registry, plan)
    this.#phases = new PhaseBarrier(this.registry, (id, message) => this.#link.send(id, message), log)
    this.#initFin = new InitFin(this.#phases, plan, this.#events, this.#ending)
    const parts = {
      plan,
      state: this.#state,
      registry: this.registry,
      link: this.#link,
      events: this.#events,
      log,
    }
    this.#model = new LoadModel(parts)
    this.#control = new RunControl(parts, this.#model)
    const rebalance = (): void => this.#model.rebalance()
    this.#sampler = new SecondSampler(
      plan,
      this.#state,
      this.registry,
      this.aggregator,
      this.openStats,
      options.onProgress,
      options.onSecond,
    )
    this.#window = new MeasuredWindow(
      plan,
      this.#state,
      this.aggregator,
      this.openStats,
      this.#events,
      this.#startedAtMs,
    )
    this.#intake = new StatsIntake(this.aggregator, this.openStats, log, this.#events, {
      onReportExtra: options.onReportExtra,
      receiveBacklogMs: (now) => socket.receiveBacklogMs(now),
    })
    this.#health = new WorkerHealthWatch(this.registry, this.aggregator, this.#events, {
      lostWorkers: this.#lostWorkers,
      rebalance,
      requestStop: (reason, cause) => this.requestStop(reason, cause),
    })
    this.#ticker = new RunTicker({
      state: this.#state,
      registry: this.registry,
      aggregator: this.aggregator,
      intake: this.#intake,
      health: this.#health,
      window: this.#window,
      sampler: this.#sampler,
      abort: new AbortThresholds(plan.thresholds.map(parseThreshold)),
      ending: this.#ending,
      log,
      applySchedule: (nowMs) => this.#model.apply(nowMs),
      asked: () => this.#model.asked(),
    })
    this.#messages = new WorkerMessages({
      state: this.#state,
      registry: this.registry,
      link: this.#link,
      log,
      events: this.#events,
      joinSecret: options.joinSecret ?? null,
      intake: this.#intake,
      exceptions: this.#exceptions,
      classNames: this.#model.planner.sequence.classNames,
      lostWorkers: this.#lostWorkers,
      abandoned: this.#abandoned,
      onException: (nowMs) => this.#sampler.noteException(nowMs),
      phases: this.#phases,
      onLiveCounts: (workerId, nowMs, live) => this.#sampler.liveRate.note(workerId, nowMs, live),
      rebalance,
      requestStop: (reason, cause) => this.requestStop(reason, cause),
    })
    this.#outcomeSources = {
      startedAtMs: this.#startedAtMs,
      state: this.#state,
      window: this.#window,
      ending: this.#ending,
      aggregator: this.aggregator,
      registry: this.registry,
      events: this.#events,
      sampler: this.#sampler,
      exceptions: this.#exceptions,
      lostWorkers: this.#lostWorkers,
      openStats: this.openStats,
      abandoned: this.#abandoned,
      unconfirmedWorkers: this.#unconfirmed,
      phaseFailures: this.#initFin.failures,
    }
    socket.onMessage((routingId, envelope) => this.#onMessage(routingId, envelope))
    socket.onDrop((routingId, reason) => this.#messages.onDrop(routingId, reason))
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
    return this.#state.phase
  }

  get paused(): boolean {
    return this.#state.paused
  }

  get loadStartedAtMs(): number | null {
    return this.#state.loadStartMs
  }

  get targetUsers(): number {
    return this.#model.planner.targetUsers
  }

  get dispatchedUsers(): number {
    return this.#model.planner.dispatchedUsers
  }

  /** Open model: the global rate asked for now (null in the closed model). */
  get targetRps(): number | null {
    return this.#model.targetRps(Date.now())
  }

  get events(): readonly RunEvent[] {
    return this.#events.all
  }

  get samples(): readonly Sample[] {
    return this.#sampler.samples
  }

  /** Longest report-merge slice so far (ms): the master's own loop-turn cost for stats. */
  get maxMergeSliceMs(): number {
    return this.#intake.maxMergeSliceMs
  }

  /** Asks the run to end now (control API, SIGTERM, Ctrl-C): the verdict becomes `stopped`. */
  requestStop(reason: string, cause: StopCause = 'person'): void {
    this.#ending.request(reason, cause)
  }

  /** Waits for workers, runs the load for the plan's duration (or until stopped), and stops the workers. */
  async run(): Promise<RunOutcome> {
    this.#ticker.start()
    try {
      if ((await this.#waitForWorkers()) && (await this.#initFin.init())) {
        this.#startLoad()
        await this.#ending.waitForLoad(planDurationMs(this.plan))
      }
      await this.#stopWorkers()
    } finally {
      this.#ticker.stop()
      this.#model.planner.stop()
      this.#state.phase = 'done'
      this.#messages.flush()
      await this.#socket.close()
    }
    this.#intake.flush()
    return this.outcome()
  }

  /** The run so far (the live dashboard reads it every second), or, once run() has returned, the whole run. */
  outcome(): RunOutcome {
    return snapshotOutcome(this.#outcomeSources)
  }

  /** Stops starting new tasks/iterations until resumed (run-control.ts). */
  pause(reason = 'paused through the control API'): boolean {
    return this.#control.setPaused(true, reason)
  }

  resume(reason = 'resumed through the control API'): boolean {
    return this.#control.setPaused(false, reason)
  }

  /** Changes users (closed model) or the rate (open model) for the rest of the run (run-control.ts). */
  retarget(change: Retarget): RetargetAnswer {
    return this.#control.retarget(change)
  }

  /** Closes the socket without a run (errors before the run started). */
  async close(): Promise<void> {
    await this.#socket.close()
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  async #waitForWorkers(): Promise<boolean> {
    const answer = await awaitWorkers(this.registry, this.plan, this.#log, () => this.#ending.reason !== null)
    if (answer.kind === 'timeout') {
      this.#ending.cause = 'workers-never-came'
      this.#ending.reason = answer.reason
    }
    return answer.kind === 'came'
  }

  #startLoad(): void {
    const nowMs = Date.now()
    this.#window.startLoad(nowMs)
    this.#log.info(
      { users: this.plan.users, spawnRate: this.plan.spawnRate, workers: this.registry.active().length },
      'load started',
    )
    this.#model.apply(nowMs)
  }

  async #stopWorkers(): Promise<void> {
    this.#ending.stopRequestedAtMs = Date.now()
    this.#state.phase = 'stopping'
    this.#model.planner.stop()
    this.#events.emit('stopped', this.#ending.reason ?? 'run time reached', { cause: this.#ending.cause })
    await this.#initFin.fin(this.#state.loadStartMs !== null)
    this.#state.quitSent = true
    const unconfirmed = await quitWorkers(
      this.registry,
      this.#link,
      this.#events,
      this.plan.stopTimeoutMs,
      this.#abandoned,
    )
    this.#unconfirmed.push(...unconfirmed)
  }

  // ---- messages ----------------------------------------------------------------------------------

  #onMessage(routingId: string, envelope: Envelope<WorkerToMaster>): void {
    try {
      this.#messages.handle(routingId, envelope.message, Date.now())
    } catch (error) {
      // A malformed-but-decodable message must never stop the master (P14).
      this.#log.error(
        { workerId: routingId, type: envelope.message.type, err: error },
        'worker message handling failed',
      )
    }
  }
}
