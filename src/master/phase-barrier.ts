import type { Logger } from '../shared/logger.js'
import type { MasterToWorker } from '../protocol/messages.js'
import {
  HORDE_PHASE_DONE_MESSAGE,
  HORDE_PHASE_MESSAGE,
  parseHordePhaseDone,
  type HordePhaseDone,
  type PhaseName,
} from '../protocol/horde-phase.js'
import { ACTIVE_STATES, type WorkerNode, type WorkerRegistry } from './worker-registry.js'

/** Which phases the scenario has (from the plan); absent = none, and the run goes as before. */
export interface PlanPhases {
  init: boolean
  initPerAgent: boolean
  fin: boolean
}

/** How long init and fin may take (data loading can be long; a bound keeps a hung phase from holding a Job). */
export const PHASE_TIMEOUT_MS = 30 * 60_000

/** A phase that did not pass, for the verdict: init → invalid, fin → fail. */
export interface PhaseFailure {
  phase: PhaseName
  message: string
}

/**
 * The master's side of init / run / fin across all workers. Each phase is a barrier: sent to every Horde worker,
 * and passed only when each worker it waits for has answered. A worker that dies or leaves meanwhile fails the
 * phase with its index; Locust workers (which cannot run phases) are neither asked nor waited for.
 */
export class PhaseBarrier {
  readonly #answers = new Map<string, HordePhaseDone>()
  #current: PhaseName | null = null

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly send: (id: string, message: MasterToWorker) => void,
    private readonly log: Logger,
  ) {}

  /** Call for every custom message; true when it was a phase answer (consumed). */
  onMessage(id: string, name: string, data: unknown): boolean {
    if (name !== HORDE_PHASE_DONE_MESSAGE) return false
    const done = parseHordePhaseDone(data)
    if (done !== null && done.phase === this.#current) this.#answers.set(id, done)
    return true
  }

  /** Before the load: init on one worker (or all with initPerAgent). null when passed (or no init). */
  async init(phases: PlanPhases | undefined): Promise<PhaseFailure | null> {
    if (phases?.init !== true) return null
    return this.#run('init', (_node, agentId) => phases.initPerAgent || agentId === 0, PHASE_TIMEOUT_MS)
  }

  /** After the load: every worker drains (stops its load), then fin runs on one. null when passed (or no fin). */
  async fin(phases: PlanPhases | undefined, drainTimeoutMs: number): Promise<PhaseFailure | null> {
    if (phases?.fin !== true) return null
    const drained = await this.#run('drain', () => true, drainTimeoutMs)
    if (drained !== null) return { phase: 'fin', message: `fin did not run: ${drained.message}` }
    return this.#run('fin', (_node, agentId) => agentId === 0, PHASE_TIMEOUT_MS)
  }

  async #run(
    phase: PhaseName,
    runs: (node: WorkerNode, agentId: number) => boolean,
    timeoutMs: number,
  ): Promise<PhaseFailure | null> {
    const nodes = this.registry
      .active()
      .filter((n) => n.sentHorde || n.version === -1)
      .sort((a, b) => a.index - b.index)
    if (nodes.length === 0)
      return { phase, message: `no Horde worker to run ${phase} (Locust workers cannot)` }
    this.#current = phase
    this.#answers.clear()
    const startedAt = Date.now()
    nodes.forEach((node, agentId) => {
      const data = { v: 1, phase, run: runs(node, agentId), agentId, agents: nodes.length }
      this.send(node.id, { type: 'custom', name: HORDE_PHASE_MESSAGE, data })
    })
    this.log.info({ phase, workers: nodes.length }, `${phase} barrier: waiting for every worker`)
    try {
      for (;;) {
        const failed = nodes
          .map((node) => ({ node, done: this.#answers.get(node.id) }))
          .find(({ done }) => done !== undefined && !done.ok)
        if (failed !== undefined) {
          return {
            phase,
            message: `${phase} failed on worker ${failed.node.index}: ${failed.done?.error ?? 'no reason given'}`,
          }
        }
        if (nodes.every((node) => this.#answers.has(node.id))) {
          this.log.info({ phase, durationMs: Date.now() - startedAt }, `${phase} barrier passed`)
          return null
        }
        const gone = nodes.find((node) => !this.#answers.has(node.id) && !ACTIVE_STATES.has(node.state))
        if (gone !== undefined) {
          return { phase, message: `worker ${gone.index} was lost during ${phase} (${gone.state})` }
        }
        if (Date.now() - startedAt > timeoutMs) {
          const late = nodes.filter((node) => !this.#answers.has(node.id)).map((n) => n.index)
          return {
            phase,
            message: `${phase} did not finish within ${Math.round(timeoutMs / 1000)} s on worker ${late.join(', ')}`,
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    } finally {
      this.#current = null
    }
  }
}
