import type { PhaseBarrier } from './phase-barrier.js'
import type { MasterToWorker, WorkerToMaster } from '../protocol/messages.js'
import {
  HORDE_FINAL_MESSAGE,
  HORDE_JOIN_MESSAGE,
  HORDE_REFUSED_MESSAGE,
  parseHordeFinal,
} from '../protocol/horde-peer.js'
import type { Logger } from '../shared/logger.js'
import { RateLimitedWarning } from '../shared/rate-limited-log.js'
import type { ExceptionLog } from './exception-log.js'
import { JoinGate } from './join-gate.js'
import type { RunEventLog } from './run-events.js'
import type { RunState, StopCause } from './run-state.js'
import type { StatsIntake } from './stats-intake.js'
import type { WorkerLink } from './worker-link.js'
import type { WorkerNode, WorkerRegistry } from './worker-registry.js'

/** What message handling needs from the rest of the master. */
type HeartbeatLive = Extract<WorkerToMaster, { type: 'heartbeat' }>['live']

export interface MessageContext {
  state: RunState
  registry: WorkerRegistry
  link: WorkerLink
  log: Logger
  events: RunEventLog
  /** Horde peers must prove they hold this secret to join (Locust peers cannot and are let in). */
  joinSecret: string | null
  intake: StatsIntake
  exceptions: ExceptionLog
  /** User classes of the plan, to warn about a worker that does not know one. */
  classNames: readonly string[]
  /** Workers lost while the load ran (missing or gone), until they come back. */
  lostWorkers: Set<string>
  /** Tasks each worker abandoned after the stop timeout (from its `horde_final`). */
  abandoned: Map<string, number>
  onException: (nowMs: number) => void
  /** init / fin barriers: their `horde_phase_done` answers (phase-barrier.ts). */
  phases: PhaseBarrier
  /** Notes a Horde heartbeat's cumulative [requests, failures] for the live progress rate. */
  onLiveCounts: (workerId: string, nowMs: number, live: NonNullable<HeartbeatLive>) => void
  /** Moves the users (or rate) over the current workers at once. */
  rebalance: () => void
  requestStop: (reason: string, cause: StopCause) => void
}

/** How long worker set changes are gathered into one rebalance (a liveness sweep's period). */
const REBALANCE_COALESCE_MS = 250

/**
 * Everything workers send the master: registration (through the join gate), heartbeats, stats reports, state
 * changes, exceptions and departures. Each changes the registry and, where the worker set changed, rebalances.
 */
export class WorkerMessages {
  readonly #c: MessageContext
  readonly #joinGate: JoinGate
  /** Messages from workers that never registered (or were refused), logged at a bounded rate. */
  readonly #unknownWarning: RateLimitedWarning
  readonly #dropWarning: RateLimitedWarning
  #rebalanceTimer: NodeJS.Timeout | null = null

  constructor(context: MessageContext) {
    this.#c = context
    this.#joinGate = new JoinGate(context.joinSecret, context.log)
    this.#unknownWarning = new RateLimitedWarning(
      context.log,
      'message from an unregistered worker ignored (it never sent client_ready, or was refused)',
    )
    this.#dropWarning = new RateLimitedWarning(context.log, 'frame from worker dropped')
  }

  /** A frame that could not be decoded. */
  onDrop(routingId: string | null, reason: string): void {
    this.#dropWarning.note({ workerId: routingId, reason })
    // Locust asks a known worker whose frame it could not decode to reset its connection (§3.2.7).
    if (routingId !== null && this.#c.registry.get(routingId) !== undefined)
      this.#c.link.send(routingId, { type: 'reconnect' })
  }

  /**
   * One rebalance for every worker set change within REBALANCE_COALESCE_MS: each rebalance sends a spawn to every
   * worker, so one per recovered (or joining) worker turned 1,000 heartbeats arriving after a stall into a million
   * spawns (bench/README.md). A change waits at most this long for its users.
   */
  #scheduleRebalance(): void {
    if (this.#rebalanceTimer !== null) return
    this.#rebalanceTimer = setTimeout(() => {
      this.#rebalanceTimer = null
      this.#c.rebalance()
    }, REBALANCE_COALESCE_MS)
    this.#rebalanceTimer.unref()
  }

  /** Logs what the rate-limited warnings still hold (at the end of the run). */
  flush(): void {
    if (this.#rebalanceTimer !== null) clearTimeout(this.#rebalanceTimer)
    this.#rebalanceTimer = null
    this.#dropWarning.flush()
    this.#unknownWarning.flush()
    this.#joinGate.flush()
  }

  handle(id: string, message: WorkerToMaster, now: number): void {
    const c = this.#c
    const node = c.registry.get(id)
    if (message.type === 'custom' && message.name === HORDE_JOIN_MESSAGE) {
      this.#joinGate.onJoin(id, message.data)
      return
    }
    if (message.type === 'clientReady') {
      if (this.#joinGate.admits(id, message.version)) this.#onClientReady(id, message.version, now)
      else c.link.send(id, refusal())
      return
    }
    if (message.type === 'locustfileRequest') {
      // A Locust worker started with `-f -` asks before client_ready, under a temporary id.
      c.link.send(id, {
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
      case 'heartbeat':
        return this.#onHeartbeat(id, node, message, now)
      case 'stats': {
        c.intake.push(id, message.report, now)
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
        this.#scheduleRebalance()
        return
      case 'quit':
        this.#onWorkerQuit(id, node)
        return
      case 'exception':
        c.exceptions.add(id, message.msg, message.traceback)
        c.onException(Date.now())
        return
      case 'logs':
        return
      case 'custom':
        if (message.name === HORDE_FINAL_MESSAGE) {
          const final = parseHordeFinal(message.data)
          if (final !== null && final.abandonedTasks > 0) c.abandoned.set(id, final.abandonedTasks)
          return
        }
        if (c.phases.onMessage(id, message.name, message.data)) return
        c.log.debug({ workerId: id, name: message.name }, 'custom message ignored')
        return
    }
  }

  #onHeartbeat(
    id: string,
    node: WorkerNode,
    message: Extract<WorkerToMaster, { type: 'heartbeat' }>,
    now: number,
  ): void {
    const c = this.#c
    if (node.state === 'quit') return
    // A worker that wakes up after we told everyone to quit (a blocked loop) hears `quit` again at once; not
    // before, as the fin barrier still needs every worker.
    if (c.state.quitSent) c.link.send(id, { type: 'quit' })
    node.lastHeartbeatMs = now
    if (message.live !== undefined) c.onLiveCounts(id, now, message.live)
    node.cpuPercent = message.cpuPercent
    node.maxCpuPercent = Math.max(node.maxCpuPercent, message.cpuPercent)
    if (message.memoryBytes !== null) node.maxMemoryBytes = Math.max(node.maxMemoryBytes, message.memoryBytes)
    if (node.state === 'missing') {
      node.state = message.state
      node.missingSinceMs = null
      c.lostWorkers.delete(id)
      c.events.emit('worker-recovered', `worker ${node.index} self-healed with a heartbeat`, {}, id)
      this.#scheduleRebalance()
    } else if (node.state !== 'stopped') {
      node.state = message.state
    }
    // Locust < 2.19 does not know master heartbeats and would log a warning for each one (D2).
    if (understands(node.version, 2, 19)) c.link.send(id, { type: 'heartbeat' })
  }

  #onClientReady(id: string, version: string | number | null, now: number): void {
    const c = this.#c
    if (version === '') {
      // Debian's python3-locust 2.12.1 ships an empty __version__ (P6); Locust masters reject it, we accept it.
      c.log.warn({ workerId: id }, 'worker sent an empty version (Debian locust 2.12.1?): accepted')
    } else if (version === null || (typeof version !== 'string' && version !== -1)) {
      c.log.warn({ workerId: id, version }, 'worker sent an unusual version: accepted')
    }
    if (c.state.phase === 'stopping' || c.state.phase === 'done') {
      // A worker that re-registers after our quit (Python re-sends client_ready after stop) gets another quit.
      c.link.send(id, { type: 'quit' })
      return
    }
    const { node, isNew } = c.registry.register(id, version, now)
    c.link.send(id, { type: 'ack', index: node.index })
    c.lostWorkers.delete(id)
    if (isNew) {
      c.events.emit(
        'worker-joined',
        `worker ${node.index} joined (${describeKind(version)})`,
        { version },
        id,
      )
    }
    c.log.info(
      { workerId: id, index: node.index, version, workers: c.registry.active().length },
      'worker ready',
    )
    this.#scheduleRebalance()
  }

  #onWorkerQuit(id: string, node: WorkerNode): void {
    const c = this.#c
    if (c.state.phase === 'stopping' || c.state.phase === 'done') {
      node.state = 'quit'
      return
    }
    // A worker leaving by itself (scale down, Ctrl-C): its users move to the others.
    c.registry.remove(id)
    node.state = 'quit'
    c.events.emit(
      'worker-removed',
      `worker ${node.index} quit; its users move to the ${c.registry.active().length} others`,
      { reason: 'quit' },
      id,
    )
    if (c.state.phase === 'running' && c.registry.active().length === 0) {
      c.requestStop('the last worker quit', 'no-workers')
      return
    }
    this.#scheduleRebalance()
  }

  /** Python workers crash on a class they do not know (P16): say so loudly, with the fix. */
  #learnClasses(node: WorkerNode, names: string[]): void {
    if (names.length === 0) return
    node.classNames = new Set(names)
    const unknown = this.#c.classNames.filter((name) => !node.classNames?.has(name))
    if (unknown.length > 0) {
      this.#c.log.error(
        { workerId: node.id, workerClasses: names, planClasses: this.#c.classNames },
        `worker does not know user class(es) ${unknown.join(', ')}: name the classes in the locustfile as in the scenario`,
      )
    }
  }
}

function refusal(): MasterToWorker {
  return {
    type: 'custom',
    name: HORDE_REFUSED_MESSAGE,
    data: { v: 1, reason: 'this master requires a join secret: none or a wrong one was proven' },
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
