import type { StatsAggregator } from './aggregator.js'
import type { RunEventLog } from './run-events.js'
import { SaturationCounter } from './saturation.js'
import type { StopCause } from './run-state.js'
import { MISSING_REMOVAL_MS, type LivenessChange, type WorkerRegistry } from './worker-registry.js'

/** What a lost worker changes elsewhere in the master. */
export interface LossHandling {
  /** Workers lost while the load ran, until they come back. */
  lostWorkers: Set<string>
  /** Moves the users (or rate) of a lost worker to the others. */
  rebalance: () => void
  requestStop: (reason: string, cause: StopCause) => void
}

/** Seconds of saturation after which a worker's latencies are called suspect in an event. */
const SATURATED_EVENT_SECONDS = 5

/**
 * Generator health: the registry's liveness changes (a worker missing or forgotten) become events and move its
 * load; once a second, each worker's saturated seconds (CPU or a blocked event loop) are counted, and an event
 * says so once a worker has been saturated long enough for its latencies to be suspect.
 */
export class WorkerHealthWatch {
  readonly #saturation = new SaturationCounter()
  readonly #registry: WorkerRegistry
  readonly #aggregator: StatsAggregator
  readonly #events: RunEventLog
  readonly #loss: LossHandling

  constructor(
    registry: WorkerRegistry,
    aggregator: StatsAggregator,
    events: RunEventLog,
    loss: LossHandling,
  ) {
    this.#registry = registry
    this.#aggregator = aggregator
    this.#events = events
    this.#loss = loss
  }

  /** `running`: a worker lost while the load runs counts against the verdict until it comes back. */
  onLiveness(changes: readonly LivenessChange[], running: boolean): void {
    // One rebalance for the whole sweep: one per missing worker sent a spawn to every worker each time, which
    // under 1,000 workers turned a few late heartbeats into a storm that starved the loop (bench/README.md).
    let moved = false
    // The sweep marked every change first, so one count serves them all (a count per change was 1,000² steps).
    const survivors = changes.length === 0 ? 0 : this.#registry.active().length
    for (const change of changes) {
      const node = change.node
      if (change.kind === 'removed') {
        this.#events.emit(
          'worker-removed',
          `worker ${node.index} removed after ${MISSING_REMOVAL_MS / 1000} s missing`,
          { reason: 'missing' },
          node.id,
        )
        continue
      }
      if (running) this.#loss.lostWorkers.add(node.id)
      this.#events.emit(
        'worker-missing',
        `worker ${node.index} failed to send heartbeat for ${Math.round(change.silentMs / 1000)} s: missing; its users move to the ${survivors} others`,
        { lastHeartbeatMs: change.lastHeartbeatMs },
        node.id,
      )
      if (running && survivors === 0) this.#loss.requestStop('the last worker went missing', 'no-workers')
      else moved = true
    }
    if (moved) this.#loss.rebalance()
  }

  /** `running`: saturation counts only while load runs; the loop delays are consumed either way. */
  everySecond(nowMs: number, running: boolean): void {
    for (const node of this.#registry.nodes.values()) {
      // A stopped worker still heartbeats its CPU; a missing or departed one says nothing.
      if (node.state === 'quit' || node.state === 'missing') continue
      const loopDelay = this.#aggregator.eventLoopDelayMaxMs.get(node.id) ?? 0
      // A saturated database pool makes latencies the generator's own as a blocked loop does (issue 15).
      const poolWait = this.#aggregator.poolWaitMaxMs.get(node.id) ?? 0
      const added = running
        ? this.#saturation.add(node.id, nowMs, node.cpuPercent, Math.max(loopDelay, poolWait))
        : 0
      if (added > 0) {
        const before = node.saturatedSeconds
        node.saturatedSeconds += added
        if (before < SATURATED_EVENT_SECONDS && node.saturatedSeconds >= SATURATED_EVENT_SECONDS) {
          this.#events.emit(
            'worker-saturated',
            // Users and loop delay say why: thousands of users opening connections on one core, or a task
            // that blocks the loop (a synchronous driver), look alike in latencies but not here.
            `worker ${node.index} saturated for ${node.saturatedSeconds} s (${Math.round(node.cpuPercent)} % CPU, event loop blocked up to ${Math.round(loopDelay)} ms, database pool wait up to ${Math.round(poolWait)} ms, ${node.userCount} users): its latencies are suspect; spread the users over more workers`,
            { cpuPercent: node.cpuPercent, loopDelayMaxMs: loopDelay, users: node.userCount },
            node.id,
          )
        }
      }
      this.#aggregator.eventLoopDelayMaxMs.delete(node.id)
      this.#aggregator.poolWaitMaxMs.delete(node.id)
    }
  }
}
