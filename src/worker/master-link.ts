import { HORDE_JOIN_MESSAGE, joinProof } from '../protocol/horde-peer.js'
import type { WorkerSocket } from '../protocol/transport.js'
import type { Logger } from '../shared/logger.js'
import { MasterLiveness } from './master-liveness.js'
import { MasterWaitWarning } from './master-wait.js'
import type { WorkerOptions } from './worker-options.js'
import type { WorkerSession } from './worker-session.js'

/** Locust constants (runners.py), kept so that a real Locust master sees the cadence it expects. */
const CLIENT_READY_RETRY_MS = 5000
const DEFAULT_MASTER_TIMEOUT_MS = 5000

/** What losing or never finding the master asks of the rest of the worker. */
export interface MasterLinkHooks {
  /** The master never answered within the connect timeout: the worker ends (nothing ran). */
  giveUp: () => void
  /** The master is gone for good (no rejoin window, or it did not take us back in time). */
  masterLost: () => void
  /** Acked (registered or rejoined): reports and heartbeats start. */
  registered: () => void
  /** Lost, but it may take us back: every user stops now. */
  detached: () => void
}

/**
 * The worker's registration with its master: client_ready (after the join proof, for Horde masters) until it
 * is acked or the connect timeout passes; the master's liveness; and, once it is lost, either the end or (with
 * a rejoin window) asking again until it takes us back.
 */
export class MasterLink {
  readonly liveness: MasterLiveness
  private readonly waitWarning: MasterWaitWarning
  private readonly startedAt = Date.now()

  constructor(
    private readonly options: WorkerOptions,
    private readonly nodeId: string,
    private readonly socket: WorkerSocket,
    private readonly log: Logger,
    private readonly session: WorkerSession,
    private readonly hooks: MasterLinkHooks,
  ) {
    this.waitWarning = new MasterWaitWarning(
      log,
      options.masterHost,
      options.masterPort,
      options.waitWarnIntervalMs ?? 10_000,
    )
    this.liveness = new MasterLiveness(
      log,
      options.masterTimeoutMs ?? DEFAULT_MASTER_TIMEOUT_MS,
      () => this.lose(),
      () => this.sendClientReady(),
    )
    socket.onConnectionChange((connected) => {
      if (!session.finished) this.liveness.onConnectionChange(connected)
    })
  }

  /** Announces the worker and keeps doing so until acked; returns the retry timer (cleared at exit). */
  start(): NodeJS.Timeout {
    this.sendClientReady()
    this.waitWarning.start(() => this.liveness.connected)
    const connectTimeoutMs = this.options.connectTimeoutMs ?? 300_000
    const retry = setInterval(() => {
      if (this.session.acked) return
      if (this.session.detachedAt !== null) {
        const rejoinWindowMs = this.options.rejoinWindowMs ?? 0
        if (Date.now() - this.session.detachedAt > rejoinWindowMs) {
          this.log.error({ rejoinWindowMs }, 'the master did not take us back; exiting')
          this.hooks.masterLost()
          return
        }
      } else if (Date.now() - this.startedAt > connectTimeoutMs) {
        clearInterval(retry)
        this.log.error({ timeoutMs: connectTimeoutMs }, 'no answer from the master; giving up')
        this.hooks.giveUp()
        return
      }
      this.sendClientReady()
    }, CLIENT_READY_RETRY_MS)
    return retry
  }

  sendClientReady(): void {
    const secret = this.options.joinSecret
    if (secret != null && secret !== '') {
      // Before client_ready on the same connection, so a Horde master has checked it when client_ready comes.
      const data = { v: 1, proof: joinProof(secret, this.nodeId) }
      this.socket.send({ type: 'custom', name: HORDE_JOIN_MESSAGE, data })
    }
    // -1 skips Locust's version check (what Boomer sends); a version string would draw warnings (P5).
    this.socket.send({ type: 'clientReady', version: -1 })
  }

  onAck(index: number | null | undefined): void {
    if (this.session.acked) return
    this.session.acked = true
    this.session.workerIndex = index ?? 0
    this.waitWarning.stop()
    if (this.session.detachedAt !== null) {
      this.log.info({ workerIndex: this.session.workerIndex }, 'rejoined the master')
      this.session.detachedAt = null
    } else this.log.info({ workerIndex: this.session.workerIndex }, 'registered with the master')
    this.hooks.registered()
  }

  /**
   * The master is gone (silent or disconnected past the master timeout): every user stops now. Without a
   * rejoin window the worker exits; with one it keeps announcing itself and, if the master takes it back (a
   * healed partition), runs whatever it is told after the new ack. Nothing queued before that runs.
   */
  lose(): void {
    if (this.session.finished || this.session.detachedAt !== null) return
    if ((this.options.rejoinWindowMs ?? 0) <= 0) {
      this.hooks.masterLost()
      return
    }
    this.session.detachedAt = Date.now()
    this.session.acked = false
    this.liveness.forgetHeartbeats()
    this.hooks.detached()
    this.log.warn(
      { rejoinWindowMs: this.options.rejoinWindowMs },
      'all users stopped; asking the master to take us back',
    )
    this.waitWarning.start(() => this.liveness.connected)
    this.sendClientReady()
  }

  stop(): void {
    this.liveness.stop()
    this.waitWarning.stop()
  }
}
