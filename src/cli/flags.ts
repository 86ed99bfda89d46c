import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ConfigError } from '../shared/errors.js'

/**
 * node:util parseArgs with our error style: an unknown flag or a missing value names the flag and the fix.
 */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
    return {
      values: parsed.values,
      positionals: parsed.positionals,
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `${message.replace(/\.$/, '')}. Run 'horde ${command} --help' for the flags it takes.`,
    )
  }
}

/** A flag's value, else the environment variable's, else undefined. */
export function flagOrEnv(values: Record<string, unknown>, flag: string, env: string): string | undefined {
  const value = values[flag]
  if (typeof value === 'string') return value
  const fromEnv = process.env[env]
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv
}
