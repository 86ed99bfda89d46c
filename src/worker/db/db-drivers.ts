import pg from 'pg'
import mysql from 'mysql2/promise'
import { HordeError } from '../../shared/errors.js'
import type { DbConnectionSettings } from './db-credentials.js'
import type { DbTarget } from './db-options.js'

/** What a query returns, whatever the driver. */
export interface DbResult<Row = Record<string, unknown>> {
  rows: Row[]
  /** Rows returned or affected. */
  rowCount: number
}

/**
 * One worker's pool for one database, over the driver's own pool (pg.Pool, mysql2's pool). The connection
 * object is the driver's, passed back to `query`/`release` as is, so a query allocates no wrapper.
 */
export interface DriverPool {
  acquire(): Promise<unknown>
  query(connection: unknown, sql: string, params: readonly unknown[] | undefined): Promise<DbResult<never>>
  /** `broken`: the connection failed mid-use and must be closed rather than reused. */
  release(connection: unknown, broken: boolean): void
  close(): Promise<void>
}

/** Distinct statements a worker prepares; past this, statements run unnamed (server memory per connection). */
const MAX_PREPARED = 1000
const preparedNames = new Map<string, string>()

/**
 * The name of `sql` as a prepared statement: one per distinct text in the worker (pg refuses one name for two
 * texts), made once and looked up after; undefined once MAX_PREPARED texts have names.
 */
export function preparedName(sql: string): string | undefined {
  let name = preparedNames.get(sql)
  if (name === undefined && preparedNames.size < MAX_PREPARED) {
    name = `horde_${preparedNames.size + 1}`
    preparedNames.set(sql, name)
  }
  return name
}

export function acquireTimeoutError(target: DbTarget): HordeError {
  return new HordeError(
    'HORDE_ERR_DB_POOL_TIMEOUT',
    `waited ${target.acquireTimeoutMs} ms for a free connection (pool max ${target.maxConnections} per worker): raise pool.max, lower users per worker, or raise pool.acquireTimeout`,
  )
}

/** pg.Pool: its connectionTimeoutMillis also bounds the wait in its queue, so it is our acquire timeout. */
export function postgresPool(
  target: DbTarget,
  settings: DbConnectionSettings,
  onIdleError: (e: Error) => void,
): DriverPool {
  const pool = new pg.Pool({
    ...(settings.url !== undefined ? { connectionString: settings.url } : {}),
    ...(settings.host !== undefined ? { host: settings.host } : {}),
    ...(settings.port !== undefined ? { port: settings.port } : {}),
    ...(settings.user !== undefined ? { user: settings.user } : {}),
    ...(settings.database !== undefined ? { database: settings.database } : {}),
    ...(settings.password !== undefined ? { password: settings.password } : {}),
    max: target.maxConnections,
    min: target.minConnections,
    idleTimeoutMillis: target.idleTimeoutMs,
    connectionTimeoutMillis: target.acquireTimeoutMs,
    // Server-side, so a slow statement is cancelled on the database too, not just abandoned by us.
    ...(target.statementTimeoutMs > 0 ? { statement_timeout: target.statementTimeoutMs } : {}),
    application_name: 'horde',
  })
  // An idle connection that dies (server restart) must not crash the worker: the next query reconnects.
  pool.on('error', onIdleError)
  return {
    async acquire() {
      try {
        return await pool.connect()
      } catch (error) {
        if (error instanceof Error && /timeout exceeded when trying to connect/i.test(error.message)) {
          throw acquireTimeoutError(target)
        }
        throw error
      }
    },
    async query(connection, sql, params) {
      const values = params as unknown[] | undefined
      // Only parameterised statements are prepared: BEGIN/COMMIT and one-off statements gain nothing from it.
      const name = target.prepare && values !== undefined ? preparedName(sql) : undefined
      const result = await (connection as pg.PoolClient).query(
        name === undefined ? sql : { name, text: sql, values },
        name === undefined ? values : undefined,
      )
      return { rows: result.rows as never[], rowCount: result.rowCount ?? result.rows.length }
    },
    release(connection, broken) {
      ;(connection as pg.PoolClient).release(broken)
    },
    close: () => pool.end(),
  }
}

/**
 * mysql2's pool. It has no acquire timeout of its own (it queues forever), so the wait is raced against one
 * here; a connection that arrives after its waiter gave up goes straight back to the pool.
 */
export function mysqlPool(
  target: DbTarget,
  settings: DbConnectionSettings,
  onIdleError: (e: Error) => void,
): DriverPool {
  const pool = mysql.createPool({
    ...(settings.url !== undefined ? { uri: settings.url.replace(/^mariadb:/i, 'mysql:') } : {}),
    ...(settings.host !== undefined ? { host: settings.host } : {}),
    ...(settings.port !== undefined ? { port: settings.port } : {}),
    ...(settings.user !== undefined ? { user: settings.user } : {}),
    ...(settings.database !== undefined ? { database: settings.database } : {}),
    ...(settings.password !== undefined ? { password: settings.password } : {}),
    connectionLimit: target.maxConnections,
    // Idle connections above min close after idleTimeout (mysql2's maxIdle), as pg's min does.
    maxIdle: target.minConnections,
    idleTimeout: target.idleTimeoutMs,
    waitForConnections: true,
    queueLimit: 0,
    connectTimeout: target.acquireTimeoutMs,
  })
  pool.pool.on('error', onIdleError)
  const statementTimeout = target.statementTimeoutMs > 0 ? target.statementTimeoutMs : undefined
  return {
    acquire() {
      return new Promise((resolve, reject) => {
        let timedOut = false
        const timer = setTimeout(() => {
          timedOut = true
          reject(acquireTimeoutError(target))
        }, target.acquireTimeoutMs)
        pool.getConnection().then(
          (connection) => {
            if (timedOut) connection.release()
            else {
              clearTimeout(timer)
              resolve(connection)
            }
          },
          (error: unknown) => {
            clearTimeout(timer)
            if (!timedOut) reject(error instanceof Error ? error : new Error(String(error)))
          },
        )
      })
    },
    async query(connection, sql, params) {
      const c = connection as mysql.PoolConnection
      const values = params as unknown[] | undefined
      // Client-side: mysql2 gives up on the statement and closes the connection (released as broken).
      // execute(): mysql2's per-connection prepared statement cache (`prepare`); query(): text protocol.
      const prepared = target.prepare && values !== undefined
      const options: mysql.QueryOptions =
        statementTimeout === undefined ? { sql } : { sql, timeout: statementTimeout }
      const [rows] = prepared
        ? await c.execute(options, values as mysql.ExecuteValues[])
        : await c.query(options, values)
      if (Array.isArray(rows)) return { rows: rows as never[], rowCount: rows.length }
      const header = rows as mysql.ResultSetHeader
      return { rows: [], rowCount: header.affectedRows }
    },
    release(connection, broken) {
      if (broken) (connection as mysql.PoolConnection).destroy()
      else (connection as mysql.PoolConnection).release()
    },
    close: () => pool.end(),
  }
}
