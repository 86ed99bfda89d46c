import type { HordeControl } from '../protocol/horde-control.js'
import { HORDE_FINAL_MESSAGE } from '../protocol/horde-peer.js'
import { HORDE_PHASE_DONE_MESSAGE, type HordePhaseRequest } from '../protocol/horde-phase.js'
import type { SpawnMessage, WorkerState } from '../protocol/messages.js'
import type { WorkerSocket } from '../protocol/transport.js'
import { parseDurationMs } from '../shared/duration.js'
import type { Logger } from '../shared/logger.js'
import { closeWorkerDbPools } from './db/db-pools.js'
import { HttpTransport } from './http/http-client.js'
import { openFilesLimit } from './http/open-files-limit.js'
import { OpenModelRunner } from './open-model.js'
import { runWorkerPhase } from './phase-runner.js'
import { settlesWithin } from './settles-within.js'
import { StatsHistograms } from './stats-histograms.js'
import { RequestStats } from './stats.js'
import { UserPool } from './user-pool.js'
import { UserClass } from './user-runner.js'
import type { WorkerOptions } from './worker-options.js'
import type { WorkerSession } from './worker-session.js'

/** Locust masters wait 0.5 s after `quit` for the final stats: drain in-flight requests for less than that. */
const QUIT_DRAIN_MS = 300
/**
 * At exit, how long aborted tasks get to end before they are abandoned (at least; the stop timeout when longer).
 * An aborted task ends at its next await on our API; one awaiting a promise that never settles never ends.
 */
const MIN_ABANDON_AFTER_MS = 1000

/** What the load asks of the rest of the worker. */
export interface WorkerLoadHooks {
  reportException: (userClass: string, error: unknown) => void
  /** Sends a stats report with this open-model runner's counts (it may already be stopping). */
  sendStats: (open: OpenModelRunner | null) => void
  /** Announces the worker ready again (client_ready) once a stopped test has wound down. */
  sendClientReady: () => void
}

/**
 * The load this worker generates and what the master makes of it: the closed-model users (spawn), the
 * open-model runner and pause (Horde control), init / drain / fin (Horde phases), and stopping it all, on
 * `stop`, when the master is lost, and at exit (abandoning tasks that ignore the stop).
 */
export class WorkerLoad {
  readonly stats = new RequestStats()
  readonly histograms = new StatsHistograms()
  readonly transport: HttpTransport
  readonly pool: UserPool
  /** Set while the master runs this worker in the open model (target rate). */
  open: OpenModelRunner | null = null
  /** Locust's worker state, as heartbeats carry it. */
  state: WorkerState = 'ready'
  private readonly classes: ReadonlyMap<string, UserClass>
  private lastSpawnTimestamp = -Infinity
  private stopTimeoutMs: number

  constructor(
    private readonly options: WorkerOptions,
    private readonly log: Logger,
    private readonly socket: WorkerSocket,
    private readonly session: WorkerSession,
    private readonly hooks: WorkerLoadHooks,
  ) {
    const scenario = options.scenario
    this.stopTimeoutMs = parseDurationMs(scenario.stopTimeout ?? '0s') ?? 0
    this.transport = new HttpTransport({
      baseUrl: options.host ?? scenario.host ?? null,
      keepAlive: scenario.http?.keepAlive ?? true,
      connections: scenario.http?.connections ?? null,
      timeoutMs: parseDurationMs(scenario.http?.timeout ?? '30s') ?? 30_000,
      headers: scenario.http?.headers ?? {},
      onConnectionCap: (origin, cap) =>
        this.log.warn(
          { origin, maxConnections: cap, openFilesLimit: openFilesLimit(), users: this.pool.userCount },
          `more users than this process may open connections (ulimit -n): requests to ${origin} share ${cap} connections and queue for them; raise the limit (ulimit -n) or spread the users over more workers`,
        ),
    })
    this.transport.tracer = options.datadog?.tracer ?? null
    this.stats.onLog = (entry, responseTimeMs, _failed, lagMs) =>
      this.histograms.record(entry, responseTimeMs, lagMs)
    const classes = new Map(
      Object.entries(scenario.users).map(([name, def]) => [name, new UserClass(name, def)]),
    )
    this.classes = classes
    this.pool = new UserPool(
      classes,
      this.transport,
      this.stats,
      this.log,
      () => this.session.workerIndex,
      (userClass, error) => this.hooks.reportException(userClass, error),
    )
  }

  onSpawn(message: SpawnMessage): void {
    this.socket.send({ type: 'spawning' })
    if (message.timestamp <= this.lastSpawnTimestamp) {
      this.log.debug({ timestamp: message.timestamp }, 'discarded a spawn older than the last one')
      return
    }
    this.lastSpawnTimestamp = message.timestamp
    this.stopTimeoutMs = Math.max(0, (message.stopTimeoutSec ?? 0) * 1000)
    if (this.options.host == null && message.host !== null && message.host !== '') {
      this.transport.setBaseUrl(message.host)
    }
    if (this.state === 'ready') {
      // A new test: Locust clears stats and exceptions on the first spawn.
      this.stats.clear()
      this.histograms.clear()
      this.log.info({ host: this.transport.baseUrl }, 'test starting')
    }
    this.state = 'spawning'
    this.pool.setCounts(message.userClassesCount, this.stopTimeoutMs)
    const counts = this.pool.counts()
    this.socket.send({ type: 'spawningComplete', userClassesCount: counts, userCount: this.pool.userCount })
    this.state = 'running'
    this.log.info({ users: counts, total: this.pool.userCount }, 'users spawned')
  }

  /** Horde master only: pause/resume, and the open model's rate and pool. */
  onControl(control: HordeControl): void {
    if (this.session.finished) return
    if (control.open !== undefined) {
      if (control.open === null) {
        if (this.open !== null) void this.open.stop(this.stopTimeoutMs)
        this.open = null
        this.histograms.openModel = false
      } else if (this.open === null) {
        if (this.state === 'ready') {
          this.stats.clear()
          this.histograms.clear()
        }
        this.open = new OpenModelRunner(
          {
            classes: this.classes,
            transport: this.transport,
            recorder: this.stats,
            log: this.log,
            workerIndexOf: () => this.session.workerIndex,
            onException: (userClass, error) => this.hooks.reportException(userClass, error),
          },
          control.open.rps,
          control.open.maxInFlight,
        )
        this.histograms.openModel = true
        this.state = 'running'
        this.open.start()
      } else {
        this.open.resize(control.open.maxInFlight)
        this.open.retarget(control.open.rps, control.open.rampMs)
      }
    }
    if (control.throttleTps !== undefined) this.pool.setThrottleTps(control.throttleTps)
    if (control.paused !== undefined) {
      this.pool.setPaused(control.paused)
      this.open?.setPaused(control.paused)
    }
    this.log.info(
      { paused: control.paused, targetRps: control.open?.rps, maxInFlight: control.open?.maxInFlight },
      'control applied',
    )
  }

  /** Horde master only: init / drain / fin (src/worker/phase-runner.ts); the answer is the master's barrier. */
  async onPhase(request: HordePhaseRequest): Promise<void> {
    const done = await runWorkerPhase(request, this.options.scenario, this.log, async () => {
      const open = this.open
      await settlesWithin(this.stopAllLoad(this.stopTimeoutMs), this.stopTimeoutMs + MIN_ABANDON_AFTER_MS)
      this.hooks.sendStats(open)
      await closeWorkerDbPools(this.stats)
    })
    if (!this.session.finished)
      this.socket.send({ type: 'custom', name: HORDE_PHASE_DONE_MESSAGE, data: done })
  }

  async onStop(): Promise<void> {
    if (this.session.finished) return
    this.log.info({ stopTimeoutMs: this.stopTimeoutMs }, 'stopping users')
    this.pool.setPaused(false)
    const open = this.open
    // Graceful up to the stop timeout, then aborted; a task that ignores even the abort is left behind so the
    // master still hears client_stopped (it can no longer make requests through our client either way).
    const stopped = await settlesWithin(
      this.stopAllLoad(this.stopTimeoutMs),
      this.stopTimeoutMs + MIN_ABANDON_AFTER_MS,
    )
    if (!stopped) {
      const abandonedTasks = this.pool.stoppingCount + (open?.unfinished ?? 0)
      this.log.warn({ abandonedTasks }, 'tasks ignored the stop and were left behind')
    }
    this.socket.send({ type: 'clientStopped' })
    this.hooks.sendStats(open)
    await closeWorkerDbPools(this.stats)
    // Locust workers wait stop_timeout before announcing themselves ready again.
    await new Promise((resolve) => setTimeout(resolve, this.stopTimeoutMs))
    if (this.session.finished) return
    this.state = 'ready'
    this.lastSpawnTimestamp = -Infinity
    this.hooks.sendClientReady()
  }

  /**
   * The master is lost but may take us back: every user stops now, and nothing queued before a new ack runs.
   * The stats made before the cut are kept for the master (delivered if the link heals).
   */
  detach(): void {
    this.lastSpawnTimestamp = -Infinity
    this.pool.setPaused(false)
    const open = this.open
    this.state = 'ready'
    void this.stopAllLoad(0).then(() => {
      if (!this.session.finished) this.hooks.sendStats(open)
    })
  }

  /**
   * Stops everything for good at exit: in-flight requests drain briefly and the final report goes out, then
   * tasks that ignore the abort past the stop timeout are abandoned. Resolves with how many were.
   */
  async quit(): Promise<number> {
    this.pool.setPaused(false)
    const open = this.open
    this.open = null
    this.histograms.openModel = false
    const stopping = Promise.all([this.pool.close(), open?.stop(0)])
    // Aborted users refuse new requests; the ones in flight complete and are recorded, so totals match
    // what the target served, then the final report goes out inside the master's 0.5 s grace period.
    await Promise.race([this.pool.drain(QUIT_DRAIN_MS), stopping])
    if (this.session.acked) this.hooks.sendStats(open)
    // A task that ignores the abort (awaiting a promise that never settles) must not hold the worker: after
    // the stop timeout it is abandoned, its sockets destroyed with the transport (close()).
    const abandonAfterMs = Math.max(MIN_ABANDON_AFTER_MS, this.stopTimeoutMs)
    await settlesWithin(stopping, abandonAfterMs)
    const abandonedTasks = this.pool.stoppingCount + (open?.unfinished ?? 0)
    if (abandonedTasks > 0) {
      this.log.warn(
        { abandonedTasks, afterMs: abandonAfterMs },
        'tasks still running after the stop timeout were abandoned (they ignore the stop signal)',
      )
      if (this.session.acked) {
        const data = { v: 1, abandonedTasks }
        this.socket.send({ type: 'custom', name: HORDE_FINAL_MESSAGE, data })
      }
    }
    return abandonedTasks
  }

  /** Releases the HTTP connections and database pools (the worker's last step). */
  async close(): Promise<void> {
    await Promise.all([this.transport.destroy(), closeWorkerDbPools(this.stats)])
  }

  /** Stops the closed-model users and the open-model iterations alike. */
  private async stopAllLoad(stopTimeoutMs: number): Promise<void> {
    const open = this.open
    this.open = null
    this.histograms.openModel = false
    await Promise.all([this.pool.stopAll(stopTimeoutMs), open?.stop(stopTimeoutMs)])
  }
}
