import type { WorkerState } from '../protocol/messages.js'
import type { WorkerSummary } from '../shared/result.js'

/** Locust marks a worker missing 4–5 s after its last heartbeat (§5.2); we check against wall time each second. */
export const HEARTBEAT_TIMEOUT_MS = 4000
/**
 * Horde workers heartbeat every second and never block their loop for long (they say so when they do), so
 * three missed beats are enough: their users (or their share of the rate) move sooner.
 */
export const HORDE_HEARTBEAT_TIMEOUT_MS = 3000
/** A missing worker is forgotten after a minute, as Locust does (HEARTBEAT_DEAD_INTERNAL = -60). */
export const MISSING_REMOVAL_MS = 60_000

export type NodeState = WorkerState | 'missing' | 'stopped' | 'quit'

export interface WorkerNode {
  readonly id: string
  readonly index: number
  /** What client_ready carried: a version string, -1 (Boomer/Horde), '' (Debian's 2.12.1). */
  version: string | number | null
  state: NodeState
  lastHeartbeatMs: number
  missingSinceMs: number | null
  cpuPercent: number
  maxCpuPercent: number
  maxMemoryBytes: number
  saturatedSeconds: number
  missingEvents: number
  userCount: number
  userClassesCount: Record<string, number>
  /** User classes the worker knows (keys of its first stats report); null until then. */
  classNames: Set<string> | null
  sentHorde: boolean
}

/** What a liveness sweep changed: the coordinator turns these into events and moves the users. */
export type LivenessChange =
  | { kind: 'removed'; node: WorkerNode }
  | { kind: 'missing'; node: WorkerNode; silentMs: number; lastHeartbeatMs: number }

export const ACTIVE_STATES: ReadonlySet<NodeState> = new Set(['ready', 'spawning', 'running'])

/** Workers known to the master. Indexes are never reused while the master lives, as in Locust. */
export class WorkerRegistry {
  readonly nodes = new Map<string, WorkerNode>()
  readonly #indexes = new Map<string, number>()
  /** Removed workers stay here for the summary in result.json. */
  readonly #gone: WorkerNode[] = []

  register(id: string, version: string | number | null, nowMs: number): { node: WorkerNode; isNew: boolean } {
    let index = this.#indexes.get(id)
    if (index === undefined) {
      index = this.#indexes.size
      this.#indexes.set(id, index)
    }
    const existing = this.nodes.get(id)
    if (existing !== undefined) {
      existing.version = version
      existing.state = 'ready'
      existing.lastHeartbeatMs = nowMs
      existing.missingSinceMs = null
      existing.userCount = 0
      existing.userClassesCount = {}
      return { node: existing, isNew: false }
    }
    const node: WorkerNode = {
      id,
      index,
      version,
      state: 'ready',
      lastHeartbeatMs: nowMs,
      missingSinceMs: null,
      cpuPercent: 0,
      maxCpuPercent: 0,
      maxMemoryBytes: 0,
      saturatedSeconds: 0,
      missingEvents: 0,
      userCount: 0,
      userClassesCount: {},
      classNames: null,
      sentHorde: false,
    }
    this.nodes.set(id, node)
    return { node, isNew: true }
  }

  get(id: string): WorkerNode | undefined {
    return this.nodes.get(id)
  }

  remove(id: string): WorkerNode | undefined {
    const node = this.nodes.get(id)
    if (node === undefined) return undefined
    this.nodes.delete(id)
    this.#gone.push(node)
    return node
  }

  active(): WorkerNode[] {
    return [...this.nodes.values()].filter((node) => ACTIVE_STATES.has(node.state))
  }

  /** Users the workers say they run: Locust's `user_count` (missing workers count zero). */
  reportedUsers(): number {
    return this.active().reduce((sum, node) => sum + node.userCount, 0)
  }

  /**
   * Liveness, as Locust judges it: a worker silent past its heartbeat timeout goes missing (its users count zero
   * until it heartbeats again), and one missing for MISSING_REMOVAL_MS is forgotten.
   */
  sweep(nowMs: number): LivenessChange[] {
    const changes: LivenessChange[] = []
    for (const node of [...this.nodes.values()]) {
      if (node.state === 'quit') continue
      if (node.state === 'missing') {
        if (node.missingSinceMs !== null && nowMs - node.missingSinceMs >= MISSING_REMOVAL_MS) {
          this.remove(node.id)
          changes.push({ kind: 'removed', node })
        }
        continue
      }
      const timeoutMs = node.version === -1 ? HORDE_HEARTBEAT_TIMEOUT_MS : HEARTBEAT_TIMEOUT_MS
      if (nowMs - node.lastHeartbeatMs > timeoutMs) {
        node.state = 'missing'
        node.missingSinceMs = nowMs
        node.missingEvents += 1
        node.userCount = 0
        node.userClassesCount = {}
        changes.push({
          kind: 'missing',
          node,
          silentMs: nowMs - node.lastHeartbeatMs,
          lastHeartbeatMs: node.lastHeartbeatMs,
        })
      }
    }
    return changes
  }

  summaries(): WorkerSummary[] {
    const all = [...this.#gone, ...this.nodes.values()]
    const latest = new Map<string, WorkerNode>()
    for (const node of all) latest.set(node.id, node)
    return [...latest.values()]
      .sort((a, b) => a.index - b.index)
      .map((node) => ({
        id: node.id,
        index: node.index,
        kind: node.sentHorde || node.version === -1 ? 'horde' : String(node.version ?? ''),
        maxCpuPercent: Math.round(node.maxCpuPercent * 10) / 10,
        maxMemoryBytes: node.maxMemoryBytes,
        saturatedSeconds: node.saturatedSeconds,
        missingEvents: node.missingEvents,
      }))
  }
}
