import type { Logger } from '../../shared/logger.js'
import { ScenarioError } from '../../shared/errors.js'
import { UserAbortedError, type RequestGate } from '../http/http-client.js'
import type { Recorder } from '../stats.js'
import type { DbResult } from './db-drivers.js'
import { isDbTarget, parseDbTarget, type DbKind, type DbOptions, type DbTarget } from './db-options.js'
import { workerDbPools, type WorkerDbPools, type WorkerPool } from './db-pools.js'
import { queryName } from './query-name.js'

import { POOL_TYPE, POOL_WAIT_SUFFIX, SQL_TYPE, TX_TYPE } from '../../shared/db-row-types.js'

/** Request types in the stats table: a query, a transaction, a wait for a pooled connection. */
export { POOL_TYPE, POOL_WAIT_SUFFIX, SQL_TYPE, TX_TYPE }

export interface DbQueryOptions {
  /** Row name in the stats; default: the statement's first words. */
  name?: string
}

/** Runs statements: the pool (one connection per statement) or a transaction's connection. */
export interface DbQueryable {
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: DbQueryOptions,
  ): Promise<DbResult<Row>>
}

/** A database as a task sees it: queries and transactions, all recorded, on the worker's shared pool. */
export interface DbClient extends DbQueryable {
  /**
   * Runs `fn` in a transaction (BEGIN … COMMIT; ROLLBACK when it throws) on one connection, recorded as one
   * row of type TX named `name` (default 'transaction') plus a row per query inside it.
   */
  tx<T>(name: string, fn: (q: DbQueryable) => Promise<T>): Promise<T>
  tx<T>(fn: (q: DbQueryable) => Promise<T>): Promise<T>
}

/** `db` in the task context. */
export interface DbApi {
  /** PostgreSQL (pg). Pass definePostgres(...) made at the top of the scenario, so options are checked at load. */
  postgres(target: DbTarget | DbOptions | string): DbClient
  /** MySQL / MariaDB (mysql2). Pass defineMysql(...) made at the top of the scenario. */
  mysql(target: DbTarget | DbOptions | string): DbClient
}

/** Errors already recorded as failures here, so the runner does not report them again. */
export type RecordedErrors = WeakSet<object>

/** Options given inline (not through define*) are checked once per distinct value, not per call. */
const parsedInline = new Map<string, DbTarget>()

function targetOf(driver: DbKind, input: DbTarget | DbOptions | string): DbTarget {
  if (isDbTarget(input)) {
    if (input.driver !== driver) {
      const made = input.driver === 'postgres' ? 'definePostgres' : 'defineMysql'
      throw new ScenarioError(
        'HORDE_ERR_SCENARIO_DB_OPTIONS',
        `db.${driver}(...) received a database made by ${made}(...): use db.${input.driver}(...) for it.`,
      )
    }
    return input
  }
  const key = `${driver}\u0000${typeof input === 'string' ? input : JSON.stringify(input)}`
  let target = parsedInline.get(key)
  if (target === undefined) {
    target = parseDbTarget(driver, input, `db.${driver}`)
    if (parsedInline.size < 256) parsedInline.set(key, target)
  }
  return target
}

/**
 * One user's view of the worker's databases. Made on the user's first `db` use; each client it returns is
 * cached per target, so a task calling `db.postgres(bank)` every iteration allocates nothing.
 */
export class UserDb implements DbApi {
  private readonly clients = new Map<string, UserDbClient>()
  private readonly pools: WorkerDbPools

  constructor(
    private readonly recorder: Recorder,
    log: Logger,
    private readonly gate: RequestGate,
    private readonly recorded: RecordedErrors,
  ) {
    this.pools = workerDbPools(recorder, log)
  }

  postgres(target: DbTarget | DbOptions | string): DbClient {
    return this.client(targetOf('postgres', target))
  }

  mysql(target: DbTarget | DbOptions | string): DbClient {
    return this.client(targetOf('mysql', target))
  }

  private client(target: DbTarget): DbClient {
    let client = this.clients.get(target.key)
    if (client === undefined) {
      client = new UserDbClient(this.pools.get(target), this.recorder, this.gate, this.recorded)
      this.clients.set(target.key, client)
    }
    return client
  }
}

class UserDbClient implements DbClient {
  constructor(
    private readonly pool: WorkerPool,
    private readonly recorder: Recorder,
    private readonly gate: RequestGate,
    private readonly recorded: RecordedErrors,
  ) {}

  async query<Row>(
    sql: string,
    params?: readonly unknown[],
    options?: DbQueryOptions,
  ): Promise<DbResult<Row>> {
    const name = options?.name ?? queryName(sql)
    const connection = await this.acquire(name)
    let result: DbResult<Row>
    try {
      result = await this.run(connection, sql, params, name)
    } catch (error) {
      this.pool.driver.release(connection, isBroken(error))
      throw error
    }
    this.pool.driver.release(connection, false)
    return result
  }

  tx<T>(
    nameOrFn: string | ((q: DbQueryable) => Promise<T>),
    maybeFn?: (q: DbQueryable) => Promise<T>,
  ): Promise<T> {
    const name = typeof nameOrFn === 'string' ? nameOrFn : 'transaction'
    const fn = typeof nameOrFn === 'string' ? maybeFn : nameOrFn
    if (typeof fn !== 'function') {
      throw new TypeError(
        `tx(${JSON.stringify(name)}, fn) needs a function that runs the transaction's queries`,
      )
    }
    return this.transaction(name, fn)
  }

  private async transaction<T>(name: string, fn: (q: DbQueryable) => Promise<T>): Promise<T> {
    const connection = await this.acquire(name)
    const startedAt = performance.now()
    const driver = this.pool.driver
    let value: T
    try {
      await driver.query(connection, 'BEGIN', undefined)
      value = await fn(new TxQueryable(this, connection))
      await driver.query(connection, 'COMMIT', undefined)
    } catch (error) {
      // Rolled back whatever failed (a server error, the task's own throw); a connection that cannot even
      // roll back is dead and closed rather than returned to the pool.
      let broken = false
      try {
        await driver.query(connection, 'ROLLBACK', undefined)
      } catch {
        broken = true
      }
      driver.release(connection, broken)
      this.fail(TX_TYPE, name, performance.now() - startedAt, error)
      throw error
    }
    driver.release(connection, false)
    this.recorder.log(TX_TYPE, name, performance.now() - startedAt, 0, null, this.gate.scheduleLagMs)
    return value
  }

  /** A statement on a held connection, recorded under `name` (query time only: the pool wait is its own row). */
  async run<Row>(
    connection: unknown,
    sql: string,
    params: readonly unknown[] | undefined,
    name: string,
  ): Promise<DbResult<Row>> {
    if (this.gate.aborted) throw new UserAbortedError()
    const startedAt = performance.now()
    let result: DbResult<Row>
    try {
      result = await this.pool.driver.query(connection, sql, params)
    } catch (error) {
      this.fail(SQL_TYPE, name, performance.now() - startedAt, error)
      throw error
    }
    this.recorder.log(SQL_TYPE, name, performance.now() - startedAt, 0, null, this.gate.scheduleLagMs)
    return result
  }

  /** Waits for a pooled connection; the wait is recorded as "<name> pool wait", failed when it timed out. */
  private async acquire(name: string): Promise<unknown> {
    if (this.gate.aborted) throw new UserAbortedError()
    const startedAt = performance.now()
    let connection: unknown
    try {
      connection = await this.pool.driver.acquire()
    } catch (error) {
      this.fail(POOL_TYPE, name + POOL_WAIT_SUFFIX, performance.now() - startedAt, error)
      throw error
    }
    const waitedMs = performance.now() - startedAt
    if (waitedMs > this.pool.maxWaitMs) this.pool.maxWaitMs = waitedMs
    this.recorder.log(POOL_TYPE, name + POOL_WAIT_SUFFIX, waitedMs, 0, null, this.gate.scheduleLagMs)
    return connection
  }

  private fail(type: string, name: string, elapsedMs: number, error: unknown): void {
    // A user being stopped does not turn its interrupted statement into a failure of the target.
    if (this.gate.aborted && error instanceof UserAbortedError) return
    this.recorder.log(type, name, elapsedMs, 0, errorText(error), this.gate.scheduleLagMs)
    if (typeof error === 'object' && error !== null) this.recorded.add(error)
  }
}

/** The queries of one transaction: its connection, no pool wait of their own. */
class TxQueryable implements DbQueryable {
  constructor(
    private readonly client: UserDbClient,
    private readonly connection: unknown,
  ) {}

  query<Row>(sql: string, params?: readonly unknown[], options?: DbQueryOptions): Promise<DbResult<Row>> {
    return this.client.run<Row>(this.connection, sql, params, options?.name ?? queryName(sql))
  }
}

/**
 * A connection that failed outside the SQL it ran (socket closed, client-side timeout) is closed rather than
 * returned to the pool. Server errors (pg: `severity`; MySQL: `sqlState`) leave it usable.
 */
function isBroken(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true
  return !('severity' in error) && !('sqlState' in error) && !(error instanceof UserAbortedError)
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return typeof error === 'string' ? error : String(error)
}
