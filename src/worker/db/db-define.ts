import { parseDbTarget, type DbOptions, type DbTarget } from './db-options.js'

// On globalThis, not in this module: a scenario may load its own copy of the package (load-scenario.ts).
const DEFINED = Symbol.for('horde.databasesDefined')

function noteDefined(target: DbTarget): DbTarget {
  ;(globalThis as Record<symbol, number>)[DEFINED] =
    ((globalThis as Record<symbol, number>)[DEFINED] ?? 0) + 1
  return target
}

/** Whether a loaded scenario defined a database: a database-only run then needs no HTTP host. */
export function databasesDefined(): boolean {
  return ((globalThis as Record<symbol, number>)[DEFINED] ?? 0) > 0
}

/**
 * A PostgreSQL database for `db.postgres(...)`, checked when the scenario loads: bad options stop the run
 * before any load (exit 104) with the field, the value and the fix. Each worker opens one pool for it.
 *
 * ```ts
 * const bank = definePostgres({ urlEnv: 'BANK_DATABASE_URL', pool: { max: 20, acquireTimeout: '5s' } })
 * // in a task: ({ db }) => db.postgres(bank).query('SELECT 1')
 * ```
 */
export function definePostgres(options: DbOptions | string): DbTarget {
  return noteDefined(parseDbTarget('postgres', options, 'definePostgres(...)'))
}

/** A MySQL or MariaDB database for `db.mysql(...)`, checked when the scenario loads (see definePostgres). */
export function defineMysql(options: DbOptions | string): DbTarget {
  return noteDefined(parseDbTarget('mysql', options, 'defineMysql(...)'))
}
