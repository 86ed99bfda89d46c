import { hostname } from 'node:os'
import type { Logger } from '../shared/logger.js'
import { createLogger } from '../shared/logger.js'
import { parseDurationMs } from '../shared/duration.js'
import { ExitCode } from '../shared/errors.js'
import type { MasterToWorker, SpawnMessage, WorkerState, StatsReport } from '../protocol/messages.js'
import { WorkerSocket, makeNodeId } from '../protocol/transport.js'
import { HttpTransport } from './http/http-client.js'
import { HealthMonitor, type HealthSample } from './health.js'
import type { Scenario } from './scenario-types.js'
import { RequestStats } from './stats.js'
import { StatsHistograms } from './stats-histograms.js'
import { HORDE_EXTENSION_KEY, encodeHistogram } from '../protocol/horde-extension.js'
import { HORDE_CONTROL_MESSAGE, parseHordeControl, type HordeControl } from '../protocol/horde-control.js'
import { OpenModelRunner } from './open-model.js'
import { UserPool } from './user-pool.js'
import { UserClass, errorText } from './user-runner.js'

export interface WorkerOptions {
  scenario: Scenario
  masterHost: string
  masterPort: number
  /** Base URL override (--host); wins over the master's host and the scenario's. */
  host?: string | null
  nodeId?: string
  /**
   * How long the master may be silent (no heartbeat from a master that sends them, or no connection) before
   * the worker stops all users and exits non-zero. Load never outlives its master.
   */
  masterTimeoutMs?: number
  /** How long to keep announcing ourselves before giving up on a master that never answers. */
  connectTimeoutMs?: number
  logger?: Logger
  logLevel?: string
  heartbeatIntervalMs?: number
  reportIntervalMs?: number
}

export interface WorkerExit {
  code: number
  reason: 'quit' | 'master-lost' | 'connect-timeout' | 'signal'
}

/** Locust constants (runners.py), kept so that a real Locust master sees the cadence it expects. */
const CLIENT_READY_RETRY_MS = 5000
const DEFAULT_MASTER_TIMEOUT_MS = 5000
/** After this much master-heartbeat silence, announce ourselves again (a restarted master forgot us; P15). */
const REREGISTER_AFTER_MS = 3000
/** Locust masters wait 0.5 s after `quit` for the final stats: drain in-flight requests for less than that. */
const QUIT_DRAIN_MS = 300
const MAX_EXCEPTIONS_PER_SECOND = 50

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
  private lastMasterHeartbeatAt: number | null = null
  private lastReregisterAt = 0
  private lastHealth: HealthSample | null = null
  private lastSaturationWarnAt = 0
  private exceptionsThisSecond = 0
  private exceptionSecond = 0
  private droppedExceptions = 0
  private readonly timers: NodeJS.Timeout[] = []
  private finished = false
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
    })
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
      (userClass, error) => this.reportException(userClass, error),
    )
    this.exited = new Promise((resolve) => (this.resolveExit = resolve))
    this.socket = WorkerSocket.connect({
      host: options.masterHost,
      port: options.masterPort,
      nodeId: this.nodeId,
    })
    this.socket.onMessage((message) => this.onMessage(message))
    this.socket.onDrop((reason) => this.log.warn({ reason }, 'dropped a malformed message from the master'))
    this.socket.onConnectionChange((connected) => this.onConnectionChange(connected))
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
    const connectTimeoutMs = this.options.connectTimeoutMs ?? 300_000
    const retry = setInterval(() => {
      if (this.acked) {
        clearInterval(retry)
        return
      }
      if (Date.now() - this.startedAt > connectTimeoutMs) {
        clearInterval(retry)
        this.log.error({ timeoutMs: connectTimeoutMs }, 'no answer from the master; giving up')
        void this.finish({ code: ExitCode.stopped, reason: 'connect-timeout' })
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
    // -1 skips Locust's version check (what Boomer sends); a version string would draw warnings (P5).
    this.socket.send({ type: 'clientReady', version: -1 })
  }

  private onMessage(message: MasterToWorker): void {
    switch (message.type) {
      case 'ack':
        if (!this.acked) {
          this.acked = true
          this.workerIndex = message.index ?? 0
          this.log.info({ workerIndex: this.workerIndex }, 'registered with the master')
          this.startLoops()
        }
        return
      case 'spawn':
        this.onSpawn(message)
        return
      case 'heartbeat':
        this.lastMasterHeartbeatAt = Date.now()
        return
      case 'stop':
        void this.onStop()
        return
      case 'quit':
        void this.quit(ExitCode.pass, 'quit')
        return
      case 'reconnect':
        this.log.warn({}, 'master asked us to reconnect; resetting the connection')
        this.socket.reconnect()
        return
      case 'custom':
        if (message.name === HORDE_CONTROL_MESSAGE) {
          const control = parseHordeControl(message.data)
          if (control === null)
            this.log.warn({ data: message.data }, 'ignored a malformed horde_control message')
          else this.onControl(control)
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
    this.timers.push(setInterval(() => this.heartbeat(), this.options.heartbeatIntervalMs ?? 1000))
    this.timers.push(setInterval(() => this.sendStats(), this.options.reportIntervalMs ?? 3000))
    for (const timer of this.timers) timer.unref()
  }

  private heartbeat(): void {
    const health = this.health.sample()
    this.lastHealth = health
    this.socket.send({
      type: 'heartbeat',
      state: this.state,
      cpuPercent: Math.round(health.cpuPercent * 10) / 10,
      memoryBytes: health.rssBytes,
    })
    const now = Date.now()
    if (health.saturated && now - this.lastSaturationWarnAt > 10_000) {
      this.lastSaturationWarnAt = now
      this.log.warn(
        {
          cpuPercent: Math.round(health.cpuPercent),
          loopDelayMaxMs: Math.round(health.loopDelayMaxMs),
          loopDelayP99Ms: Math.round(health.loopDelayP99Ms),
          users: this.pool.userCount,
        },
        `worker saturated (${health.reason}): its response times are suspect; add workers or lower users per worker`,
      )
    }
    this.checkMaster(now)
  }

  private checkMaster(now: number): void {
    const timeoutMs = this.options.masterTimeoutMs ?? DEFAULT_MASTER_TIMEOUT_MS
    if (this.lastMasterHeartbeatAt === null) return
    const silentMs = now - this.lastMasterHeartbeatAt
    if (silentMs > timeoutMs) {
      this.log.error({ silentMs, timeoutMs }, 'master went silent; stopping all users and exiting')
      void this.quit(ExitCode.stopped, 'master-lost')
    } else if (silentMs > REREGISTER_AFTER_MS && now - this.lastReregisterAt > REREGISTER_AFTER_MS) {
      this.lastReregisterAt = now
      this.sendClientReady()
    }
  }

  /** The connection to the master dropped or came back: no load may outlive a master that is gone. */
  private onConnectionChange(connected: boolean): void {
    if (this.finished) return
    if (connected) {
      if (this.disconnectedAt !== null) this.log.info({}, 'connection to the master restored')
      this.disconnectedAt = null
      return
    }
    if (this.disconnectedAt !== null) return
    this.log.warn(
      { timeoutMs: this.options.masterTimeoutMs ?? DEFAULT_MASTER_TIMEOUT_MS },
      'connection to the master lost',
    )
    this.disconnectedAt ??= Date.now()
    const timeoutMs = this.options.masterTimeoutMs ?? DEFAULT_MASTER_TIMEOUT_MS
    const timer = setTimeout(() => {
      if (this.disconnectedAt !== null && Date.now() - this.disconnectedAt >= timeoutMs) {
        this.log.error({ timeoutMs }, 'lost the connection to the master; stopping all users and exiting')
        void this.quit(ExitCode.stopped, 'master-lost')
      }
    }, timeoutMs + 10)
    this.timers.push(timer)
  }
  private disconnectedAt: number | null = null

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
            onException: (userClass, error) => this.reportException(userClass, error),
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
    if (control.paused !== undefined) {
      this.pool.setPaused(control.paused)
      this.open?.setPaused(control.paused)
    }
    this.log.info(
      { paused: control.paused, targetRps: control.open?.rps, maxInFlight: control.open?.maxInFlight },
      'control applied',
    )
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
    await this.stopAllLoad(this.stopTimeoutMs)
    this.socket.send({ type: 'clientStopped' })
    this.sendStats(open)
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
    this.pool.setPaused(false)
    const open = this.open
    const stopping = this.stopAllLoad(0)
    // Aborted users refuse new requests; the ones in flight complete and are recorded, so totals match
    // what the target served, then the final report goes out inside the master's 0.5 s grace period.
    await Promise.race([this.pool.drain(QUIT_DRAIN_MS), stopping])
    if (this.acked) this.sendStats(open)
    this.socket.send({ type: 'quit' })
    await this.socket.flush(1000)
    await this.finish({ code, reason }, stopping)
  }

  private async finish(exit: WorkerExit, stopping?: Promise<void>): Promise<void> {
    this.finished = true
    for (const timer of this.timers) clearInterval(timer)
    this.health.stop()
    await this.transport.destroy()
    if (stopping !== undefined) await stopping
    // A short linger so that the final stats and quit handed to libzmq reach the master before we exit.
    await this.socket.close({ lingerMs: 1000 })
    this.log.info(
      { code: exit.code, reason: exit.reason, droppedExceptions: this.droppedExceptions },
      'worker finished',
    )
    this.resolveExit(exit)
  }

  /** `open`: the open-model runner whose counts go into this report (still passed while it stops). */
  private sendStats(open: OpenModelRunner | null = this.open): void {
    const delta = this.stats.takeDelta()
    const openState =
      open === null
        ? undefined
        : {
            targetRps: open.targetRps,
            inFlight: open.inFlight,
            maxInFlight: open.maxInFlight,
            maxStartLagMs: Math.round(open.maxStartLagMs * 100) / 100,
            startLagHist: encodeHistogram(open.startLag),
            paused: this.pool.paused,
          }
    if (open !== null) {
      open.maxStartLagMs = 0
      open.startLag.reset()
    }
    const report: StatsReport = {
      stats: delta.stats,
      statsTotal: delta.statsTotal,
      errors: delta.errors,
      userClassesCount: this.pool.counts(),
      userCount: this.pool.userCount,
      extra: {
        [HORDE_EXTENSION_KEY]: this.histograms.take(
          this.health.takeLoopDelayMaxMs(),
          open?.takeCounts() ?? [],
          openState,
        ),
      },
    }
    this.socket.send({ type: 'stats', report })
  }

  private reportException(userClass: string, error: unknown): void {
    const second = Math.floor(Date.now() / 1000)
    if (second !== this.exceptionSecond) {
      this.exceptionSecond = second
      this.exceptionsThisSecond = 0
    }
    if (++this.exceptionsThisSecond > MAX_EXCEPTIONS_PER_SECOND) {
      this.droppedExceptions++
      return
    }
    const traceback =
      error instanceof Error && error.stack !== undefined
        ? error.stack.split('\n').slice(1).join('\n')
        : `in a task of user class ${userClass}`
    this.socket.send({ type: 'exception', msg: errorText(error), traceback })
  }
}
