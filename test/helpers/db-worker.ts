import { pino } from 'pino'
import { HttpTransport } from '../../src/worker/http/http-client.js'
import { RequestStats, type StatsEntry } from '../../src/worker/stats.js'
import { UserPool } from '../../src/worker/user-pool.js'
import { UserClass } from '../../src/worker/user-runner.js'
import type { ScenarioOptions } from '../../src/worker/scenario-types.js'
import { closeWorkerDbPools } from '../../src/worker/db/db-pools.js'

const silent = pino({ level: 'silent' })

export interface DbTestWorker {
  pool: UserPool
  stats: RequestStats
  /** Task exceptions the users reported, as text. */
  exceptions: string[]
  /** Stops the users, closes the worker's database pools and its HTTP transport. */
  stop(): Promise<void>
}

/**
 * A worker's users without the wire: the same UserPool, recorder and contexts `horde worker` uses, so a database
 * test drives the real db clients and pools. Call `stop()` when done; `stopDbWorkers()` in afterEach stops what a failing test left.
 */
export function makeDbWorker(users: ScenarioOptions['users']): DbTestWorker {
  const transport = new HttpTransport({
    baseUrl: null,
    keepAlive: true,
    connections: null,
    timeoutMs: 5000,
    headers: {},
  })
  const stats = new RequestStats()
  const exceptions: string[] = []
  const classes = new Map(Object.entries(users).map(([n, d]) => [n, new UserClass(n, d)]))
  const pool = new UserPool(
    classes,
    transport,
    stats,
    silent,
    () => 0,
    (_c, e) => exceptions.push(String(e)),
  )
  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      live.delete(worker)
      await pool.stopAll(5000)
      await closeWorkerDbPools(stats)
      await transport.close()
    })())
  const worker = { pool, stats, exceptions, stop }
  live.add(worker)
  return worker
}

const live = new Set<DbTestWorker>()

/** Stops every worker a test made and did not stop (its assertions failed first): call it in afterEach. */
export async function stopDbWorkers(): Promise<void> {
  await Promise.all([...live].map((w) => w.stop()))
}

/** The recorder's rows since the last call, keyed "TYPE name". */
export function takeRows(stats: RequestStats): Map<string, StatsEntry> {
  return new Map(stats.takeDelta().entries.map((e) => [`${e.method} ${e.name}`, e]))
}
