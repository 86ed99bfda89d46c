import { z } from 'zod'
import { ScenarioError, describeValue } from '../../shared/errors.js'
import { parseDurationMs } from '../../shared/duration.js'
import { redactUrlCredentials } from '../../shared/redact.js'

/** Which driver a database target uses. */
export type DbKind = 'postgres' | 'mysql'

/**
 * The pool each worker opens for one database, shared by all of its users. Every field is explicit in the
 * templates even at its default: pool limits are what the field's database tests got wrong.
 */
export interface DbPoolOptions {
  /** Most connections this worker opens (default 10). Users beyond it queue: that wait is recorded as pool wait. */
  max?: number
  /** Connections opened when the pool is made and kept while idle (default 0). */
  min?: number
  /** Longest wait for a free connection before the query fails ('10s' default). */
  acquireTimeout?: string
  /** An idle connection above `min` is closed after this long ('30s' default). */
  idleTimeout?: string
  /** A statement running longer fails ('30s' default; '0s' = none). PostgreSQL: server-side statement_timeout. */
  statementTimeout?: string
}

/**
 * Where the database is and how to log in. Credentials come from the environment or a file (a Kubernetes
 * Secret mounted as a file or as env), never from the scenario's source: a URL with a password in it is refused.
 */
export interface DbOptions {
  /** Connection URL without a password (postgres://user@host:port/db, mysql://user@host:port/db). */
  url?: string
  /** Name of an environment variable holding the URL (it may carry the password). */
  urlEnv?: string
  /** Path of a file holding the URL (e.g. a mounted Secret). */
  urlFile?: string
  host?: string
  port?: number
  user?: string
  database?: string
  /** Name of an environment variable holding the password. */
  passwordEnv?: string
  /** Path of a file holding the password (trailing newline ignored). */
  passwordFile?: string
  pool?: DbPoolOptions
  /**
   * Parameterised statements as named prepared statements, parsed once per connection (as JDBC drivers do after a
   * few uses, and pgbench -M prepared): less CPU on the worker and the server per query. Off by default: poolers in
   * transaction mode (PgBouncer before 1.21, some proxies) break or pin named statements.
   */
  prepare?: boolean
}

/** Validated, frozen options with durations in ms: what a worker's pool is made from. */
export interface DbTarget {
  readonly kind: 'horde.db'
  readonly driver: DbKind
  readonly url?: string
  readonly urlEnv?: string
  readonly urlFile?: string
  readonly host?: string
  readonly port?: number
  readonly user?: string
  readonly database?: string
  readonly passwordEnv?: string
  readonly passwordFile?: string
  readonly maxConnections: number
  readonly minConnections: number
  readonly acquireTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly statementTimeoutMs: number
  readonly prepare: boolean
  /** Identifies the pool within a worker: same target, same pool. Holds no secret. */
  readonly key: string
}

const duration = z.string().refine((text) => parseDurationMs(text) !== undefined, {
  message: "must be a duration such as '500ms', '10s' or '1m'",
})

const URL_SCHEMES: Record<DbKind, RegExp> = {
  postgres: /^postgres(ql)?:\/\//i,
  mysql: /^(mysql|mariadb):\/\//i,
}

function optionsSchema(driver: DbKind) {
  return z
    .strictObject({
      url: z
        .string()
        .refine((url) => URL_SCHEMES[driver].test(url), {
          message: `must be a ${driver === 'postgres' ? 'postgres://' : 'mysql://'} URL`,
        })
        .refine((url) => !/^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(url), {
          message:
            'must not carry a password: put the URL in an environment variable (urlEnv) or a file (urlFile), or the password alone in passwordEnv / passwordFile',
        })
        .optional(),
      urlEnv: z.string().min(1).optional(),
      urlFile: z.string().min(1).optional(),
      host: z.string().min(1).optional(),
      port: z.number().int().min(1).max(65535, { message: 'must be a TCP port (1-65535)' }).optional(),
      user: z.string().min(1).optional(),
      database: z.string().min(1).optional(),
      passwordEnv: z.string().min(1).optional(),
      passwordFile: z.string().min(1).optional(),
      prepare: z.boolean({ message: 'must be true or false' }).optional(),
      pool: z
        .strictObject({
          max: z
            .number()
            .int({ message: 'must be a positive integer' })
            .positive({ message: 'must be a positive integer' })
            .max(10_000, { message: 'must be at most 10000 connections per worker' })
            .optional(),
          min: z.number().int().min(0, { message: 'must be a non-negative integer' }).optional(),
          acquireTimeout: duration.optional(),
          idleTimeout: duration.optional(),
          statementTimeout: duration.optional(),
        })
        .optional(),
    })
    .superRefine((options, ctx) => {
      const sources = ['url', 'urlEnv', 'urlFile', 'host'].filter(
        (key) => options[key as keyof typeof options] !== undefined,
      )
      if (sources.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: `needs exactly one of url, urlEnv, urlFile or host (found ${sources.length === 0 ? 'none' : sources.join(', ')})`,
        })
      }
      if (options.passwordEnv !== undefined && options.passwordFile !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['passwordFile'],
          message: 'takes passwordEnv or passwordFile, not both',
        })
      }
      const max = options.pool?.max ?? DEFAULT_MAX
      if ((options.pool?.min ?? 0) > max) {
        ctx.addIssue({ code: 'custom', path: ['pool', 'min'], message: `must be at most pool.max (${max})` })
      }
    })
}

const DEFAULT_MAX = 10

const schemas = { postgres: optionsSchema('postgres'), mysql: optionsSchema('mysql') }

/**
 * Validates database options (a URL string or an options object) and returns the frozen target. Throws a
 * ScenarioError naming the field, the value (credentials hidden) and the fix: scenarios call this through
 * definePostgres/defineMysql at load time, so bad options stop the run before any load (exit 104).
 */
export function parseDbTarget(driver: DbKind, input: unknown, where = `${driver}(...)`): DbTarget {
  const candidate = typeof input === 'string' ? { url: input } : input
  const parsed = schemas[driver].safeParse(candidate)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.')
      if (issue.code === 'unrecognized_keys') {
        return `${where}${path === '' ? '' : `.${path}`} has unknown option(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: remove them or check the spelling (see README "Databases").`
      }
      const received = issue.path.reduce<unknown>(
        (value, key) =>
          value !== null && typeof value === 'object'
            ? (value as Record<PropertyKey, unknown>)[key]
            : undefined,
        candidate,
      )
      const shown = typeof received === 'string' ? redactUrlCredentials(received) : received
      return `${where}${path === '' ? '' : `.${path}`} ${issue.message}, received ${describeValue(path === '' ? summarize(candidate) : shown)}.`
    })
    throw new ScenarioError('HORDE_ERR_SCENARIO_DB_OPTIONS', `Invalid database options: ${lines.join(' ')}`)
  }
  const o = parsed.data
  const ms = (text: string | undefined, fallback: number): number =>
    text === undefined ? fallback : (parseDurationMs(text) as number)
  const target = {
    kind: 'horde.db' as const,
    driver,
    ...(o.url !== undefined ? { url: o.url } : {}),
    ...(o.urlEnv !== undefined ? { urlEnv: o.urlEnv } : {}),
    ...(o.urlFile !== undefined ? { urlFile: o.urlFile } : {}),
    ...(o.host !== undefined ? { host: o.host } : {}),
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.database !== undefined ? { database: o.database } : {}),
    ...(o.passwordEnv !== undefined ? { passwordEnv: o.passwordEnv } : {}),
    ...(o.passwordFile !== undefined ? { passwordFile: o.passwordFile } : {}),
    maxConnections: o.pool?.max ?? DEFAULT_MAX,
    minConnections: o.pool?.min ?? 0,
    acquireTimeoutMs: ms(o.pool?.acquireTimeout, 10_000),
    idleTimeoutMs: ms(o.pool?.idleTimeout, 30_000),
    statementTimeoutMs: ms(o.pool?.statementTimeout, 30_000),
    prepare: o.prepare ?? false,
  }
  return Object.freeze({ ...target, key: JSON.stringify(target) })
}

/** The keys an options object had, for a whole-object error (its values may be secret-adjacent). */
function summarize(candidate: unknown): unknown {
  if (candidate === null || typeof candidate !== 'object') return candidate
  return `an object with ${Object.keys(candidate).join(', ') || 'no keys'}`
}

/** True for a value made by parseDbTarget (brand check: the scenario may hold another copy of the package). */
export function isDbTarget(value: unknown): value is DbTarget {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'horde.db'
}
