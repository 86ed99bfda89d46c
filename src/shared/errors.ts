/**
 * One error type with a stable code, so callers (and users' scripts parsing our output) match on `code`
 * rather than on message text. Messages say what was wrong, what was received, and how to fix it.
 */
export class HordeError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** A scenario file is invalid: raised while loading, before any load starts. */
export class ScenarioError extends HordeError {}
/** CLI flags, environment variables or other configuration are invalid. */
export class ConfigError extends HordeError {}
/** A peer sent something the Locust protocol does not allow. Never fatal for the receiver. */
export class ProtocolError extends HordeError {}
/** Talking to Kubernetes failed. */
export class KubeError extends HordeError {}

/** Named exit codes (k6-style), shared by every entry point. Only src/cli calls process.exit. */
export const ExitCode = {
  pass: 0,
  thresholdsFailed: 99,
  invalidInput: 104,
  stopped: 105,
  invalidRun: 106,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** Short, safe rendering of a received value for an error message. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)
  if (value === undefined) return 'nothing'
  if (typeof value === 'function') return 'a function'
  try {
    const text = JSON.stringify(value)
    if (text === undefined) return typeof value === 'symbol' ? value.toString() : 'an unserialisable value'
    return text.length > 80 ? `${text.slice(0, 77)}...` : text
  } catch {
    return 'an unserialisable value'
  }
}
