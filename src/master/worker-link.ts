import type { MasterToWorker } from '../protocol/messages.js'
import type { MasterSocket } from '../protocol/transport.js'
import { HORDE_CONTROL_MESSAGE, type HordeControl } from '../protocol/horde-control.js'
import type { Logger } from '../shared/logger.js'
import type { MasterPlan } from './plan.js'
import type { WorkerRegistry } from './worker-registry.js'

/** The master's outgoing side: every message to a worker goes through here. */
export class WorkerLink {
  readonly #socket: MasterSocket
  readonly #log: Logger
  readonly #registry: WorkerRegistry
  readonly #plan: MasterPlan
  #lastSpawnTimestamp = 0

  constructor(socket: MasterSocket, log: Logger, registry: WorkerRegistry, plan: MasterPlan) {
    this.#socket = socket
    this.#log = log
    this.#registry = registry
    this.#plan = plan
  }

  /** A send that fails (a worker gone a moment ago) is logged, never thrown into the caller's loop. */
  send(id: string, message: MasterToWorker): void {
    try {
      this.#socket.send(id, message)
    } catch (error) {
      this.#log.warn({ workerId: id, type: message.type, err: error }, 'send to worker failed')
    }
  }

  /** An absolute per-class user table, with the host and stop timeout every Locust worker expects. */
  spawn(id: string, userClassesCount: Record<string, number>): void {
    this.send(id, {
      type: 'spawn',
      timestamp: this.#nextSpawnTimestamp(),
      userClassesCount,
      host: this.#plan.host,
      stopTimeoutSec: this.#plan.stopTimeoutMs / 1000,
      parsedOptions: {},
    })
  }

  control(id: string, data: HordeControl): void {
    this.send(id, { type: 'custom', name: HORDE_CONTROL_MESSAGE, data })
  }

  /** Control for Horde workers only: a Locust worker would log "unknown message" for each. */
  broadcastControl(data: HordeControl): void {
    for (const node of this.#registry.active()) {
      if (node.version === -1) this.control(node.id, data)
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
}
