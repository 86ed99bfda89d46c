import { hostname } from 'node:os'
import type { Logger } from '../shared/logger.js'
import { createLogger } from '../shared/logger.js'
import { parseDurationMs } from '../shared/duration.js'
import { ExitCode } from '../shared/errors.js'
import type { MasterToWorker, SpawnMessage, WorkerState } from '../protocol/messages.js'
import { WorkerSocket, makeNodeId } from '../protocol/transport.js'
import { HttpTransport } from './http/http-client.js'
import { openFilesLimit } from './http/open-files-limit.js'
import { HealthMonitor } from './health.js'
import { RequestStats } from './stats.js'
import { StatsHistograms } from './stats-histograms.js'
import { HORDE_CONTROL_MESSAGE, parseHordeControl, type HordeControl } from '../protocol/horde-control.js'
import {
  HORDE_FINAL_MESSAGE,
  HORDE_JOIN_MESSAGE,
  HORDE_REFUSED_MESSAGE,
  joinProof,
  parseHordeRefused,
} from '../protocol/horde-peer.js'
import { RateLimitedWarning } from '../shared/rate-limited-log.js'
import { MasterLiveness } from './master-liveness.js'
import { MasterWaitWarning } from './master-wait.js'
import { OpenModelRunner } from './open-model.js'
import { UserPool } from './user-pool.js'
import { UserClass } from './user-runner.js'
import { WorkerHeartbeat } from './worker-heartbeat.js'
import { WorkerReports } from './worker-reports.js'
import type { WorkerExit, WorkerOptions } from './worker-options.js'
import { closeWorkerDbPools } from './db/db-pools.js'
import {
  HORDE_PHASE_DONE_MESSAGE,
  HORDE_PHASE_MESSAGE,
  parseHordePhaseRequest,
} from '../protocol/horde-phase.js'
import { runWorkerPhase } from './phase-runner.js'

export type { WorkerExit, WorkerOptions } from './worker-options.js'

/** Locust constants (runners.py), kept so that a real Locust master sees the cadence it expects. */
const CLIENT_READY_RETRY_MS = 5000
const DEFAULT_MASTER_TIMEOUT_MS = 5000
/** Locust masters wait 0.5 s after `quit` for the final stats: drain in-flight requests for less than that. */
const QUIT_DRAIN_MS = 300
/**
 * At exit, how long aborted tasks get to end before they are abandoned (at least; the stop timeout when longer).
 * An aborted task ends at its next await on our API; one awaiting a promise that never settles never ends.
 */
const MIN_ABANDON_AFTER_MS = 1000

/**
 * A Locust-protocol worker: registers with the master, runs the users it is told to, reports stats every 3 s
 * and heartbeats every second, and stops every user when told, when the master goes away, or on a signal.
 */
export class HordeWorker {
  readonly nodeId: string
  private readonly log: Logger
  private readonly socket: WorkerSocket
  private readonly stats = new RequestStats()
  private readonly histograms = new StatsHistograms()
  private readonly transport: HttpTransport
  private readonly pool: UserPool
  private readonly classes: ReadonlyMap<string, UserClass>
  /** Set while the master runs this worker in the open model (target rate). */
  private open: OpenModelRunner | null = null
  private readonly health = new HealthMonitor()
  private state: WorkerState = 'ready'
  private workerIndex = 0
  private acked = false
  private lastSpawnTimestamp = -Infinity
  private stopTimeoutMs: number
  private readonly timers: NodeJS.Timeout[] = []
  private readonly reports: WorkerReports
  private readonly heartbeat: WorkerHeartbeat
  /**
   * Heartbeats go on while a quitting worker waits for its tasks to end (up to the stop timeout): a master
   * waiting for its final report and abandoned-task count must not take the silence for a dead worker.
   */
  private heartbeatTimer: NodeJS.Timeout | null = null
  private finished = false
  private loopsStarted = false
  /** Set while the worker has lost its master and waits (rejoinWindowMs) to be accepted again. */
  private detachedAt: number | null = null
  private readonly liveness: MasterLiveness
  private readonly dropWarning: RateLimitedWarning
  private readonly reconnectWarning: RateLimitedWarning
  private readonly waitWarning: MasterWaitWarning
  private resolveExit!: (exit: WorkerExit) => void
  readonly exited: Promise<WorkerExit>
  private readonly startedAt = Date.now()

  constructor(private readonly options: WorkerOptions) {
    this.nodeId = options.nodeId ?? makeNodeId(hostname())
    this.log =
      options.logger ??
      createLogger({
        role: 'worker',
        workerId: this.nodeId,
        ...(options.logLevel !== undefined ? { level: options.logLevel } : {}),
      })
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
      () => this.workerIndex,
      (userClass, error) => this.reports.reportException(userClass, error),
    )
    this.exited = new Promise((resolve) => (this.resolveExit = resolve))
    this.socket = WorkerSocket.connect({
      host: options.masterHost,
      port: options.masterPort,
      nodeId: this.nodeId,
    })
    this.reports = new WorkerReports(
      this.socket,
      this.stats,
      this.histograms,
      this.health,
      this.pool,
      this.transport,
    )
    this.socket.onMessage((message) => this.onMessage(message))
    this.dropWarning = new RateLimitedWarning(this.log, 'dropped a malformed message from the master')
    this.socket.onDrop((reason) => this.dropWarning.note({ reason }))
    this.reconnectWarning = new RateLimitedWarning(
      this.log,
      'master asked us to reconnect; resetting the connection',
    )
    this.waitWarning = new MasterWaitWarning(
      this.log,
      options.masterHost,
      options.masterPort,
      options.waitWarnIntervalMs ?? 10_000,
    )
    this.liveness = new MasterLiveness(
      this.log,
      options.masterTimeoutMs ?? DEFAULT_MASTER_TIMEOUT_MS,
      () => this.loseMaster(),
      () => this.sendClientReady(),
    )
    this.heartbeat = new WorkerHeartbeat(
      this.socket,
      this.health,
      this.stats,
      this.pool,
      this.liveness,
      this.log,
      options.datadog ?? null,
    )
    this.socket.onConnectionChange((connected) => {
      if (!this.finished) this.liveness.onConnectionChange(connected)
    })
  }

  /** Registers with the master; resolves with the exit once the worker has finished. */
  start(): Promise<WorkerExit> {
    this.log.info(
      {
        master: `${this.options.masterHost}:${this.options.masterPort}`,
        classes: Object.keys(this.options.scenario.users),
      },
      'worker starting',
    )
    this.sendClientReady()
    this.waitWarning.start(() => this.liveness.connected)
    const connectTimeoutMs = this.options.connectTimeoutMs ?? 300_000
    const retry = setInterval(() => {
      if (this.acked) return
      if (this.detachedAt !== null) {
        const rejoinWindowMs = this.options.rejoinWindowMs ?? 0
        if (Date.now() - this.detachedAt > rejoinWindowMs) {
          this.log.error({ rejoinWindowMs }, 'the master did not take us back; exiting')
          void this.quit(ExitCode.stopped, 'master-lost')
          return
        }
      } else if (Date.now() - this.startedAt > connectTimeoutMs) {
        clearInterval(retry)
        this.log.error({ timeoutMs: connectTimeoutMs }, 'no answer from the master; giving up')
        void this.finish({ code: ExitCode.stopped, reason: 'connect-timeout', abandonedTasks: 0 })
        return
      }
      this.sendClientReady()
    }, CLIENT_READY_RETRY_MS)
    this.timers.push(retry)
    return this.exited
  }

  /** Stops all users now and exits (SIGTERM/SIGINT). */
  async shutdown(reason: WorkerExit['reason'] = 'signal'): Promise<void> {
    await this.quit(reason === 'quit' ? ExitCode.pass : ExitCode.stopped, reason)
  }

  private sendClientReady(): void {
    const secret = this.options.joinSecret
    if (secret != null && secret !== '') {
      // Before client_ready on the same connection, so a Horde master has checked it when client_ready comes.
      const data = { v: 1, proof: joinProof(secret, this.nodeId) }
      this.socket.send({ type: 'custom', name: HORDE_JOIN_MESSAGE, data })
    }
    // -1 skips Locust's version check (what Boomer sends); a version string would draw warnings (P5).
    this.socket.send({ type: 'clientReady', version: -1 })
  }

  private onMessage(message: MasterToWorker): void {
    // A worker that has given up on its master (quit, master lost, signal) never acts on a message again: a
    // spawn queued while its loop was blocked must not restart the load (issue 10, orphan load).
    if (this.finished) return
    switch (message.type) {
      case 'ack':
        if (!this.acked) {
          this.acked = true
          this.workerIndex = message.index ?? 0
          this.waitWarning.stop()
          if (this.detachedAt !== null) {
            this.log.info({ workerIndex: this.workerIndex }, 'rejoined the master')
            this.detachedAt = null
          } else this.log.info({ workerIndex: this.workerIndex }, 'registered with the master')
          this.startLoops()
        }
        return
      case 'spawn':
        // Masters ack before they spawn; a spawn before our (re-)registration is stale (sent to who we were).
        if (!this.acked) {
          this.log.debug({}, 'ignored a spawn received while not registered')
          return
        }
        this.onSpawn(message)
        return
      case 'heartbeat':
        this.liveness.onHeartbeat()
        return
      case 'stop':
        void this.onStop()
        return
      case 'quit':
        void this.quit(ExitCode.pass, 'quit')
        return
      case 'reconnect':
        this.reconnectWarning.note({})
        this.socket.reconnect()
        return
      case 'custom':
        if (message.name === HORDE_REFUSED_MESSAGE) {
          const reason = parseHordeRefused(message.data)?.reason ?? 'no reason given'
          this.log.error(
            { reason },
            "the master refused us: start the worker with the run's --join-secret (HORDE_JOIN_SECRET)",
          )
          void this.quit(ExitCode.invalidInput, 'refused')
          return
        }
        if (!this.acked) return
        if (message.name === HORDE_CONTROL_MESSAGE) {
          const control = parseHordeControl(message.data)
          if (control === null) this.dropWarning.note({ reason: 'a malformed horde_control message' })
          else this.onControl(control)
          return
        }
        if (message.name === HORDE_PHASE_MESSAGE) {
          void this.onPhase(message.data)
          return
        }
        this.log.debug({ name: message.name }, 'ignored a custom message')
        return
      case 'spawningComplete':
      case 'updateUserClass':
      case 'locustfileReply':
        this.log.debug({ type: message.type }, 'ignored a master message')
        return
    }
  }

  private startLoops(): void {
    this.sendStats()
    if (this.loopsStarted) return
    this.loopsStarted = true
    this.heartbeatTimer = setInterval(
      () => this.heartbeat.beat(this.state),
      this.options.heartbeatIntervalMs ?? 1000,
    )
    this.heartbeatTimer.unref()
    this.timers.push(setInterval(() => this.sendStats(), this.options.reportIntervalMs ?? 3000))
    for (const timer of this.timers) timer.unref()
  }

  /**
   * The master is gone (silent or disconnected past the master timeout): every user stops now. Without a
   * rejoin window the worker exits; with one it keeps announcing itself and, if the master takes it back (a
   * healed partition), runs whatever it is told after the new ack. Nothing queued before that runs.
   */
  private loseMaster(): void {
    if (this.finished || this.detachedAt !== null) return
    if ((this.options.rejoinWindowMs ?? 0) <= 0) {
      void this.quit(ExitCode.stopped, 'master-lost')
      return
    }
    this.detachedAt = Date.now()
    this.acked = false
    this.liveness.forgetHeartbeats()
    this.lastSpawnTimestamp = -Infinity
    this.pool.setPaused(false)
    const open = this.open
    this.state = 'ready'
    void this.stopAllLoad(0).then(() => {
      // Kept for the master: delivered if the link heals, so the requests made before the cut still count.
      if (!this.finished) this.sendStats(open)
    })
    this.log.warn(
      { rejoinWindowMs: this.options.rejoinWindowMs },
      'all users stopped; asking the master to take us back',
    )
    this.waitWarning.start(() => this.liveness.connected)
    this.sendClientReady()
  }

  private onSpawn(message: SpawnMessage): void {
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
  private onControl(control: HordeControl): void {
    if (this.finished) return
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
            workerIndexOf: () => this.workerIndex,
            onException: (userClass, error) => this.reports.reportException(userClass, error),
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
  private async onPhase(data: unknown): Promise<void> {
    const request = parseHordePhaseRequest(data)
    if (request === null) {
      this.dropWarning.note({ reason: 'a malformed horde_phase message' })
      return
    }
    const done = await runWorkerPhase(request, this.options.scenario, this.log, async () => {
      const open = this.open
      await settlesWithin(this.stopAllLoad(this.stopTimeoutMs), this.stopTimeoutMs + MIN_ABANDON_AFTER_MS)
      this.sendStats(open)
      await closeWorkerDbPools(this.stats)
    })
    if (!this.finished) this.socket.send({ type: 'custom', name: HORDE_PHASE_DONE_MESSAGE, data: done })
  }

  /** Stops the closed-model users and the open-model iterations alike. */
  private async stopAllLoad(stopTimeoutMs: number): Promise<void> {
    const open = this.open
    this.open = null
    this.histograms.openModel = false
    await Promise.all([this.pool.stopAll(stopTimeoutMs), open?.stop(stopTimeoutMs)])
  }

  private async onStop(): Promise<void> {
    if (this.finished) return
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
    this.sendStats(open)
    await closeWorkerDbPools(this.stats)
    // Locust workers wait stop_timeout before announcing themselves ready again.
    await new Promise((resolve) => setTimeout(resolve, this.stopTimeoutMs))
    if (this.finished) return
    this.state = 'ready'
    this.lastSpawnTimestamp = -Infinity
    this.sendClientReady()
  }

  private async quit(code: number, reason: WorkerExit['reason']): Promise<void> {
    if (this.finished) return
    this.finished = true
    for (const timer of this.timers) clearInterval(timer)
    this.liveness.stop()
    this.waitWarning.stop()
    this.pool.setPaused(false)
    const open = this.open
    this.open = null
    this.histograms.openModel = false
    const stopping = Promise.all([this.pool.close(), open?.stop(0)])
    // Aborted users refuse new requests; the ones in flight complete and are recorded, so totals match
    // what the target served, then the final report goes out inside the master's 0.5 s grace period.
    await Promise.race([this.pool.drain(QUIT_DRAIN_MS), stopping])
    if (this.acked) this.sendStats(open)
    // A task that ignores the abort (awaiting a promise that never settles) must not hold the worker: after
    // the stop timeout it is abandoned, its sockets destroyed with the transport below.
    const abandonAfterMs = Math.max(MIN_ABANDON_AFTER_MS, this.stopTimeoutMs)
    await settlesWithin(stopping, abandonAfterMs)
    const abandonedTasks = this.pool.stoppingCount + (open?.unfinished ?? 0)
    if (abandonedTasks > 0) {
      this.log.warn(
        { abandonedTasks, afterMs: abandonAfterMs },
        'tasks still running after the stop timeout were abandoned (they ignore the stop signal)',
      )
      if (this.acked) {
        const data = { v: 1, abandonedTasks }
        this.socket.send({ type: 'custom', name: HORDE_FINAL_MESSAGE, data })
      }
    }
    this.socket.send({ type: 'quit' })
    await this.socket.flush(1000)
    await this.finish({ code, reason, abandonedTasks })
  }

  private async finish(exit: WorkerExit): Promise<void> {
    this.finished = true
    for (const timer of this.timers) clearInterval(timer)
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer)
    this.liveness.stop()
    this.waitWarning.stop()
    this.dropWarning.flush()
    this.health.stop()
    await Promise.all([this.transport.destroy(), closeWorkerDbPools(this.stats)])
    // A short linger so that the final stats and quit handed to libzmq reach the master before we exit.
    await this.socket.close({ lingerMs: 1000 })
    this.log.info(
      {
        code: exit.code,
        reason: exit.reason,
        droppedExceptions: this.reports.droppedExceptions,
        abandonedTasks: exit.abandonedTasks,
      },
      'worker finished',
    )
    this.resolveExit(exit)
  }

  /** `open`: the open-model runner whose counts go into this report (still passed while it stops). */
  private sendStats(open: OpenModelRunner | null = this.open): void {
    this.reports.sendStats(open)
  }
}

/** Whether `promise` settled within `ms` (it is not cancelled either way). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const settled = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ])
  clearTimeout(timer)
  return settled
}
