import { readFileSync } from 'node:fs'
import { ConfigError } from '../../shared/errors.js'
import type { DbTarget } from './db-options.js'

/** What a driver connects with. Holds the secret: never log it, never put it in an error message. */
export interface DbConnectionSettings {
  url?: string
  host?: string
  port?: number
  user?: string
  database?: string
  password?: string
}

/**
 * Reads the URL and password from where the target says (env or file) on the worker that opens the pool, so
 * a master without the database's Secret can still load the scenario. Errors name the variable or the file,
 * never a value.
 */
export function resolveDbSettings(
  target: DbTarget,
  env: NodeJS.ProcessEnv = process.env,
): DbConnectionSettings {
  const settings: DbConnectionSettings = {}
  if (target.url !== undefined) settings.url = target.url
  if (target.urlEnv !== undefined) settings.url = fromEnv(env, target.urlEnv, 'urlEnv')
  if (target.urlFile !== undefined) settings.url = fromFile(target.urlFile, 'urlFile')
  if (target.host !== undefined) settings.host = target.host
  if (target.port !== undefined) settings.port = target.port
  if (target.user !== undefined) settings.user = target.user
  if (target.database !== undefined) settings.database = target.database
  if (target.passwordEnv !== undefined) settings.password = fromEnv(env, target.passwordEnv, 'passwordEnv')
  if (target.passwordFile !== undefined) settings.password = fromFile(target.passwordFile, 'passwordFile')
  return settings
}

function fromEnv(env: NodeJS.ProcessEnv, name: string, field: string): string {
  const value = env[name]
  if (value === undefined || value === '') {
    throw new ConfigError(
      'HORDE_ERR_DB_CREDENTIALS',
      `${field} names the environment variable ${JSON.stringify(name)}, which is not set on this worker: set it (on Kubernetes, from the team overlay's Secret) or point ${field} at another variable.`,
    )
  }
  return value
}

function fromFile(path: string, field: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new ConfigError(
      'HORDE_ERR_DB_CREDENTIALS',
      `${field} names the file ${JSON.stringify(path)}, which this worker cannot read (${code}): mount the Secret there or fix the path.`,
    )
  }
  const value = text.replace(/\r?\n$/, '')
  if (value === '') {
    throw new ConfigError(
      'HORDE_ERR_DB_CREDENTIALS',
      `${field} names the file ${JSON.stringify(path)}, which is empty: put the value in it.`,
    )
  }
  return value
}
