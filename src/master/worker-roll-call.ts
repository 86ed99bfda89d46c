import type { Logger } from '../shared/logger.js'
import type { MasterPlan } from './plan.js'
import type { RunEventLog } from './run-events.js'
import type { WorkerLink } from './worker-link.js'
import type { WorkerNode, WorkerRegistry } from './worker-registry.js'

/** How waiting for workers ended: they came, a stop was asked for meanwhile, or the time ran out (and why). */
export type RollCall = { kind: 'came' } | { kind: 'stopped' } | { kind: 'timeout'; reason: string }

/** Waits until the plan's expected workers are ready, a stop is asked for (`stopped()`), or the time runs out. */
export async function awaitWorkers(
  registry: WorkerRegistry,
  plan: MasterPlan,
  log: Logger,
  stopped: () => boolean,
): Promise<RollCall> {
  const deadline = Date.now() + plan.expectWorkersTimeoutMs
  let lastLog = 0
  while (registry.active().filter((n) => n.state === 'ready').length < plan.expectWorkers) {
    if (stopped()) return { kind: 'stopped' }
    if (Date.now() >= deadline) {
      log.error(
        { expected: plan.expectWorkers, connected: registry.active().length },
        'expected workers never came',
      )
      return {
        kind: 'timeout',
        reason: `only ${registry.active().length} of ${plan.expectWorkers} expected workers connected within ${Math.round(plan.expectWorkersTimeoutMs / 1000)} s`,
      }
    }
    if (Date.now() - lastLog >= 5000) {
      lastLog = Date.now()
      log.info({ connected: registry.active().length, expected: plan.expectWorkers }, 'waiting for workers')
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { kind: 'came' }
}

/** Beyond the stop timeout: how long workers get to send their final stats and confirm `quit`. */
const QUIT_CONFIRM_GRACE_MS = 5000

/**
 * Ends the load as a headless Locust master does: `quit` to every worker, then wait for each worker's final
 * stats and `quit` (the final report comes after users stopped, gracefully up to stop_timeout). Returns the ids
 * of the workers that never confirmed.
 *
 * Every known worker is waited for, missing ones included: a worker whose loop was blocked past the
 * heartbeat timeout may still be loading the target when it wakes, and only its `quit` (or its own master
 * timeout, once this socket is closed) ends that. A worker that goes missing while we wait has had its
 * chance; one that never confirms within the bound is named in an event and in result.json.
 */
export async function quitWorkers(
  registry: WorkerRegistry,
  link: WorkerLink,
  events: RunEventLog,
  stopTimeoutMs: number,
  abandoned: ReadonlyMap<string, number>,
): Promise<string[]> {
  const waitMs = stopTimeoutMs + QUIT_CONFIRM_GRACE_MS
  const deadline = Date.now() + waitMs
  const missingAtStop = new Set(
    [...registry.nodes.values()].filter((n) => n.state === 'missing').map((n) => n.id),
  )
  for (const node of registry.nodes.values()) link.send(node.id, { type: 'quit' })
  const pending = (): WorkerNode[] =>
    [...registry.nodes.values()].filter(
      (n) => n.state !== 'quit' && (n.state !== 'missing' || missingAtStop.has(n.id)),
    )
  await new Promise<void>((resolve) => {
    const poll = (): void => {
      if (pending().length === 0 || Date.now() >= deadline) {
        resolve()
        return
      }
      setTimeout(poll, 50)
    }
    poll()
  })
  const left = pending()
  const unconfirmed = left.map((n) => n.id)
  if (left.length > 0) {
    events.emit(
      'workers-unconfirmed',
      `${left.length} worker(s) did not confirm quit within ${Math.round(waitMs / 1000)} s (worker ${left.map((n) => n.index).join(', ')}): each stops by itself within its master timeout once this master is gone`,
      { workers: unconfirmed, waitedMs: waitMs },
    )
  }
  const abandonedTasks = [...abandoned.values()].reduce((a, b) => a + b, 0)
  if (abandonedTasks > 0) {
    events.emit(
      'tasks-abandoned',
      `${abandonedTasks} task(s) ignored the stop and were abandoned by their workers after the stop timeout`,
      { abandonedTasks, byWorker: Object.fromEntries(abandoned) },
    )
  }
  return unconfirmed
}
