import { HORDE_CONTROL_MESSAGE, parseHordeControl } from '../protocol/horde-control.js'
import { HORDE_REFUSED_MESSAGE, parseHordeRefused } from '../protocol/horde-peer.js'
import { HORDE_PHASE_MESSAGE, parseHordePhaseRequest } from '../protocol/horde-phase.js'
import type { MasterToWorker } from '../protocol/messages.js'
import type { WorkerSocket } from '../protocol/transport.js'
import { ExitCode } from '../shared/errors.js'
import type { Logger } from '../shared/logger.js'
import { RateLimitedWarning } from '../shared/rate-limited-log.js'
import type { MasterLink } from './master-link.js'
import type { WorkerExit } from './worker-options.js'
import type { WorkerLoad } from './worker-load.js'
import type { WorkerSession } from './worker-session.js'

/** The parts a master's message is handed to. */
export interface MasterMessageTargets {
  readonly session: WorkerSession
  readonly socket: WorkerSocket
  readonly log: Logger
  readonly link: MasterLink
  readonly load: WorkerLoad
  readonly dropWarning: RateLimitedWarning
  readonly quit: (code: number, reason: WorkerExit['reason']) => void
}

/**
 * What the master sends, handed to the part that acts on it: registration to the link, spawn / stop / Horde
 * control and phases to the load, quit and refusal to the worker's end. A worker that has given up never acts
 * on a message again, and one not (re-)registered acts on nothing but ack, heartbeats and refusal.
 */
export class MasterMessages {
  private readonly reconnectWarning: RateLimitedWarning

  constructor(private readonly to: MasterMessageTargets) {
    this.reconnectWarning = new RateLimitedWarning(
      to.log,
      'master asked us to reconnect; resetting the connection',
    )
  }

  handle(message: MasterToWorker): void {
    const { session, log, link, load } = this.to
    // A worker that has given up on its master (quit, master lost, signal) never acts on a message again: a
    // spawn queued while its loop was blocked must not restart the load (issue 10, orphan load).
    if (session.finished) return
    switch (message.type) {
      case 'ack':
        link.onAck(message.index)
        return
      case 'spawn':
        // Masters ack before they spawn; a spawn before our (re-)registration is stale (sent to who we were).
        if (!session.acked) {
          log.debug({}, 'ignored a spawn received while not registered')
          return
        }
        load.onSpawn(message)
        return
      case 'heartbeat':
        link.liveness.onHeartbeat()
        return
      case 'stop':
        void load.onStop()
        return
      case 'quit':
        this.to.quit(ExitCode.pass, 'quit')
        return
      case 'reconnect':
        this.reconnectWarning.note({})
        this.to.socket.reconnect()
        return
      case 'custom':
        this.onCustom(message.name, message.data)
        return
      case 'spawningComplete':
      case 'updateUserClass':
      case 'locustfileReply':
        log.debug({ type: message.type }, 'ignored a master message')
        return
    }
  }

  private onCustom(name: string, data: unknown): void {
    const { session, log, load, dropWarning } = this.to
    if (name === HORDE_REFUSED_MESSAGE) {
      const reason = parseHordeRefused(data)?.reason ?? 'no reason given'
      log.error(
        { reason },
        "the master refused us: start the worker with the run's --join-secret (HORDE_JOIN_SECRET)",
      )
      this.to.quit(ExitCode.invalidInput, 'refused')
      return
    }
    if (!session.acked) return
    if (name === HORDE_CONTROL_MESSAGE) {
      const control = parseHordeControl(data)
      if (control === null) dropWarning.note({ reason: 'a malformed horde_control message' })
      else load.onControl(control)
      return
    }
    if (name === HORDE_PHASE_MESSAGE) {
      const request = parseHordePhaseRequest(data)
      if (request === null) dropWarning.note({ reason: 'a malformed horde_phase message' })
      else void load.onPhase(request)
      return
    }
    log.debug({ name }, 'ignored a custom message')
  }
}
