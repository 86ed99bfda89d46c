import { hostname } from 'node:os'
import type { Logger } from '../shared/logger.js'
import { createLogger } from '../shared/logger.js'
import { ExitCode } from '../shared/errors.js'
import type { MasterToWorker } from '../protocol/messages.js'
import { WorkerSocket, makeNodeId } from '../protocol/transport.js'
import { HealthMonitor } from './health.js'
import { HORDE_CONTROL_MESSAGE, parseHordeControl } from '../protocol/horde-control.js'
import {
  HORDE_JOIN_MESSAGE,
  HORDE_REFUSED_MESSAGE,
  joinProof,
  parseHordeRefused,
} from '../protocol/horde-peer.js'
import { HORDE_PHASE_MESSAGE, parseHordePhaseRequest } from '../protocol/horde-phase.js'
import { RateLimitedWarning } from '../shared/rate-limited-log.js'
import { MasterLiveness } from './master-liveness.js'
import { MasterWaitWarning } from './master-wait.js'
import type { OpenModelRunner } from './open-model.js'
import { WorkerHeartbeat } from './worker-heartbeat.js'
import { WorkerLoad } from './worker-load.js'
import { WorkerReports } from './worker-reports.js'
import type { WorkerExit, WorkerOptions } from './worker-options.js'
import type { WorkerSession } from './worker-session.js'

export type { WorkerExit, WorkerOptions } from './worker-options.js'

/** Locust constants (runners.py), kept so that a real Locust master sees the cadence it expects. */
const CLIENT_READY_RETRY_MS = 5000
const DEFAULT_MASTER_TIMEOUT_MS = 5000

/**
 * A Locust-protocol worker: registers with the master, runs the users it is told to, reports stats every 3 s
 * and heartbeats every second, and stops every user when told, when the master goes away, or on a signal.
 */
export class HordeWorker {
  readonly nodeId: string
  private readonly log: Logger
  private readonly socket: WorkerSocket
  private readonly load: WorkerLoad
  private readonly health = new HealthMonitor()
  private readonly session: WorkerSession = {
    acked: false,
    workerIndex: 0,
    finished: false,
    detachedAt: null,
  }
  private readonly timers: NodeJS.Timeout[] = []
  private readonly reports: WorkerReports
  private readonly heartbeat: WorkerHeartbeat
  /**
   * Heartbeats go on while a quitting worker waits for its tasks to end (up to the stop timeout): a master
   * waiting for its final report and abandoned-task count must not take the silence for a dead worker.
   */
  private heartbeatTimer: NodeJS.Timeout | null = null
  private loopsStarted = false
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
    this.exited = new Promise((resolve) => (this.resolveExit = resolve))
    this.socket = WorkerSocket.connect({
      host: options.masterHost,
      port: options.masterPort,
      nodeId: this.nodeId,
    })
    this.load = new WorkerLoad(options, this.log, this.socket, this.session, {
      reportException: (userClass, error) => this.reports.reportException(userClass, error),
      sendStats: (open) => this.sendStats(open),
      sendClientReady: () => this.sendClientReady(),
    })
    const { stats, histograms, pool, transport } = this.load
    this.reports = new WorkerReports(this.socket, stats, histograms, this.health, pool, transport)
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
      stats,
      pool,
      this.liveness,
      this.log,
      options.datadog ?? null,
    )
    this.socket.onConnectionChange((connected) => {
      if (!this.session.finished) this.liveness.onConnectionChange(connected)
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
      if (this.session.acked) return
      if (this.session.detachedAt !== null) {
        const rejoinWindowMs = this.options.rejoinWindowMs ?? 0
        if (Date.now() - this.session.detachedAt > rejoinWindowMs) {
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
    if (this.session.finished) return
    switch (message.type) {
      case 'ack':
        if (!this.session.acked) {
          this.session.acked = true
          this.session.workerIndex = message.index ?? 0
          this.waitWarning.stop()
          if (this.session.detachedAt !== null) {
            this.log.info({ workerIndex: this.session.workerIndex }, 'rejoined the master')
            this.session.detachedAt = null
          } else this.log.info({ workerIndex: this.session.workerIndex }, 'registered with the master')
          this.startLoops()
        }
        return
      case 'spawn':
        // Masters ack before they spawn; a spawn before our (re-)registration is stale (sent to who we were).
        if (!this.session.acked) {
          this.log.debug({}, 'ignored a spawn received while not registered')
          return
        }
        this.load.onSpawn(message)
        return
      case 'heartbeat':
        this.liveness.onHeartbeat()
        return
      case 'stop':
        void this.load.onStop()
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
        if (!this.session.acked) return
        if (message.name === HORDE_CONTROL_MESSAGE) {
          const control = parseHordeControl(message.data)
          if (control === null) this.dropWarning.note({ reason: 'a malformed horde_control message' })
          else this.load.onControl(control)
          return
        }
        if (message.name === HORDE_PHASE_MESSAGE) {
          const request = parseHordePhaseRequest(message.data)
          if (request === null) this.dropWarning.note({ reason: 'a malformed horde_phase message' })
          else void this.load.onPhase(request)
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
      () => this.heartbeat.beat(this.load.state),
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
    if (this.session.finished || this.session.detachedAt !== null) return
    if ((this.options.rejoinWindowMs ?? 0) <= 0) {
      void this.quit(ExitCode.stopped, 'master-lost')
      return
    }
    this.session.detachedAt = Date.now()
    this.session.acked = false
    this.liveness.forgetHeartbeats()
    this.load.detach()
    this.log.warn(
      { rejoinWindowMs: this.options.rejoinWindowMs },
      'all users stopped; asking the master to take us back',
    )
    this.waitWarning.start(() => this.liveness.connected)
    this.sendClientReady()
  }

  private async quit(code: number, reason: WorkerExit['reason']): Promise<void> {
    if (this.session.finished) return
    this.session.finished = true
    for (const timer of this.timers) clearInterval(timer)
    this.liveness.stop()
    this.waitWarning.stop()
    const abandonedTasks = await this.load.quit()
    this.socket.send({ type: 'quit' })
    await this.socket.flush(1000)
    await this.finish({ code, reason, abandonedTasks })
  }

  private async finish(exit: WorkerExit): Promise<void> {
    this.session.finished = true
    for (const timer of this.timers) clearInterval(timer)
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer)
    this.liveness.stop()
    this.waitWarning.stop()
    this.dropWarning.flush()
    this.health.stop()
    await this.load.close()
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
  private sendStats(open: OpenModelRunner | null = this.load.open): void {
    this.reports.sendStats(open)
  }
}
