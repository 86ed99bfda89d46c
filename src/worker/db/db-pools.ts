import type { Logger } from '../../shared/logger.js'
import { redactUrlCredentials } from '../../shared/redact.js'
import { resolveDbSettings } from './db-credentials.js'
import { mysqlPool, postgresPool, type DriverPool } from './db-drivers.js'
import type { DbTarget } from './db-options.js'

/** How long closing the pools may take at stop: a query stuck behind a lock must not hold the worker. */
const CLOSE_TIMEOUT_MS = 2000

/** One worker's pool for one target, with what the worker reports about it. */
export interface WorkerPool {
  readonly target: DbTarget
  readonly driver: DriverPool
  /** Longest wait for a connection since the last report (ms): a saturated pool shows here. */
  maxWaitMs: number
}

/**
 * The pools of one worker: one per database target, made on first use and shared by every user of the worker,
 * closed when the worker stops. Keyed by the worker's recorder, which every user context already holds, so the
 * worker needs no new wiring to hand pools to its users.
 */
export class WorkerDbPools {
  private readonly pools = new Map<string, WorkerPool>()

  constructor(private readonly log: Logger) {}

  get(target: DbTarget): WorkerPool {
    let pool = this.pools.get(target.key)
    if (pool !== undefined) return pool
    // Resolving credentials may throw (variable unset, file missing): nothing is cached then, so the error
    // repeats on every use, as a failure the task records and the run's errors table shows.
    const settings = resolveDbSettings(target)
    const where =
      settings.url !== undefined
        ? redactUrlCredentials(settings.url)
        : `${settings.host}:${settings.port ?? 'default port'}`
    let idleErrors = 0
    const onIdleError = (error: Error): void => {
      // Rare (a server restart); logged, never per request.
      if (++idleErrors <= 5)
        this.log.warn({ database: where, err: error.message }, 'an idle database connection failed')
    }
    const driver =
      target.driver === 'postgres'
        ? postgresPool(target, settings, onIdleError)
        : mysqlPool(target, settings, onIdleError)
    pool = { target, driver, maxWaitMs: 0 }
    this.pools.set(target.key, pool)
    this.log.info(
      {
        database: where,
        driver: target.driver,
        maxConnections: target.maxConnections,
        minConnections: target.minConnections,
        acquireTimeoutMs: target.acquireTimeoutMs,
        idleTimeoutMs: target.idleTimeoutMs,
        statementTimeoutMs: target.statementTimeoutMs,
      },
      'database pool opened',
    )
    if (target.minConnections > 0) void this.prefill(pool, where)
    return pool
  }

  /** Opens `min` connections now, so the first requests do not pay for connecting. */
  private async prefill(pool: WorkerPool, where: string): Promise<void> {
    const connections = await Promise.allSettled(
      Array.from({ length: pool.target.minConnections }, () => pool.driver.acquire()),
    )
    for (const c of connections) if (c.status === 'fulfilled') pool.driver.release(c.value, false)
    const failed = connections.find((c) => c.status === 'rejected')
    if (failed !== undefined) {
      const reason = failed.reason as unknown
      this.log.warn(
        {
          database: where,
          err: redactUrlCredentials(reason instanceof Error ? reason.message : String(reason)),
        },
        'could not open the pool minimum of connections',
      )
    }
  }

  /** The longest pool wait since the previous call, over every pool (0 without pools). */
  takeMaxWaitMs(): number {
    let max = 0
    for (const pool of this.pools.values()) {
      max = Math.max(max, pool.maxWaitMs)
      pool.maxWaitMs = 0
    }
    return max
  }

  get size(): number {
    return this.pools.size
  }

  /** Closes every pool (bounded: connections still held by stuck queries are abandoned with the process). */
  async closeAll(): Promise<void> {
    const pools = [...this.pools.values()]
    this.pools.clear()
    if (pools.length === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.allSettled(pools.map((p) => p.driver.close())),
      new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS))),
    ])
    clearTimeout(timer)
    this.log.info({ pools: pools.length }, 'database pools closed')
  }
}

const byWorker = new WeakMap<object, WorkerDbPools>()

/** The pools of the worker that owns `recorder` (made on first use). */
export function workerDbPools(recorder: object, log: Logger): WorkerDbPools {
  let pools = byWorker.get(recorder)
  if (pools === undefined) {
    pools = new WorkerDbPools(log)
    byWorker.set(recorder, pools)
  }
  return pools
}

/** Closes the pools of the worker that owns `recorder`, if it opened any (at stop and at exit). */
export async function closeWorkerDbPools(recorder: object): Promise<void> {
  await byWorker.get(recorder)?.closeAll()
}

/** The longest pool wait since the last call in the worker that owns `recorder` (0 without pools). */
export function takeWorkerPoolWaitMaxMs(recorder: object): number {
  return byWorker.get(recorder)?.takeMaxWaitMs() ?? 0
}
