import { hostname } from 'node:os'
import { WorkerSocket, makeNodeId } from '../protocol/transport.js'
import { ExitCode } from '../shared/errors.js'
import { createLogger, type Logger } from '../shared/logger.js'
import { RateLimitedWarning } from '../shared/rate-limited-log.js'
import { HealthMonitor } from './health.js'
import { MasterLink } from './master-link.js'
import { MasterMessages } from './master-messages.js'
import type { OpenModelRunner } from './open-model.js'
import { WorkerHeartbeat } from './worker-heartbeat.js'
import { WorkerLoad } from './worker-load.js'
import type { WorkerExit, WorkerOptions } from './worker-options.js'
import { WorkerReports } from './worker-reports.js'
import type { WorkerSession } from './worker-session.js'

export type { WorkerExit, WorkerOptions } from './worker-options.js'

/**
 * A Locust-protocol worker: registers with the master, runs the users it is told to, reports stats every 3 s
 * and heartbeats every second, and stops every user when told, when the master goes away, or on a signal.
 *
 * This file wires the parts and owns the worker's end: master-link (registration, liveness, rejoin),
 * master-messages (what the master sends, to whom), worker-load (users, open model, phases, stopping),
 * worker-reports (stats and exceptions to the master), worker-heartbeat (heartbeat and saturation).
 */
export class HordeWorker {
  readonly nodeId: string
  readonly exited: Promise<WorkerExit>
  private readonly log: Logger
  private readonly socket: WorkerSocket
  private readonly session: WorkerSession = {
    acked: false,
    workerIndex: 0,
    finished: false,
    detachedAt: null,
  }
  private readonly health = new HealthMonitor()
  private readonly load: WorkerLoad
  private readonly reports: WorkerReports
  private readonly heartbeat: WorkerHeartbeat
  private readonly link: MasterLink
  private readonly dropWarning: RateLimitedWarning
  private readonly timers: NodeJS.Timeout[] = []
  /**
   * Heartbeats go on while a quitting worker waits for its tasks to end (up to the stop timeout): a master
   * waiting for its final report and abandoned-task count must not take the silence for a dead worker.
   */
  private heartbeatTimer: NodeJS.Timeout | null = null
  private loopsStarted = false
  private resolveExit!: (exit: WorkerExit) => void

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
      sendClientReady: () => this.link.sendClientReady(),
    })
    const { stats, histograms, pool, transport } = this.load
    this.reports = new WorkerReports(this.socket, stats, histograms, this.health, pool, transport)
    this.dropWarning = new RateLimitedWarning(this.log, 'dropped a malformed message from the master')
    this.socket.onDrop((reason) => this.dropWarning.note({ reason }))
    this.link = new MasterLink(options, this.nodeId, this.socket, this.log, this.session, {
      giveUp: () =>
        void this.finish({ code: ExitCode.stopped, reason: 'connect-timeout', abandonedTasks: 0 }),
      masterLost: () => void this.quit(ExitCode.stopped, 'master-lost'),
      registered: () => this.startLoops(),
      detached: () => this.load.detach(),
    })
    const messages = new MasterMessages({
      session: this.session,
      socket: this.socket,
      log: this.log,
      link: this.link,
      load: this.load,
      dropWarning: this.dropWarning,
      quit: (code, reason) => void this.quit(code, reason),
    })
    this.socket.onMessage((message) => messages.handle(message))
    this.heartbeat = new WorkerHeartbeat(
      this.socket,
      this.health,
      stats,
      pool,
      this.link.liveness,
      this.log,
      options.datadog ?? null,
    )
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
    this.timers.push(this.link.start())
    return this.exited
  }

  /** Stops all users now and exits (SIGTERM/SIGINT). */
  async shutdown(reason: WorkerExit['reason'] = 'signal'): Promise<void> {
    await this.quit(reason === 'quit' ? ExitCode.pass : ExitCode.stopped, reason)
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

  private async quit(code: number, reason: WorkerExit['reason']): Promise<void> {
    if (this.session.finished) return
    this.session.finished = true
    for (const timer of this.timers) clearInterval(timer)
    this.link.stop()
    const abandonedTasks = await this.load.quit()
    this.socket.send({ type: 'quit' })
    await this.socket.flush(1000)
    await this.finish({ code, reason, abandonedTasks })
  }

  private async finish(exit: WorkerExit): Promise<void> {
    this.session.finished = true
    for (const timer of this.timers) clearInterval(timer)
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer)
    this.link.stop()
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
