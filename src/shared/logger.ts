import { pino, type Logger, type LoggerOptions } from 'pino'
import { redactSecrets, redactUrlCredentials } from './redact.js'
import { unifiedServiceTags } from './datadog-tags.js'

export type Role = 'master' | 'worker' | 'cli' | 'action'

export interface LoggerContext {
  role: Role
  runId?: string
  workerId?: string
  level?: string
  /** Where JSON lines go; defaults to stdout (fd 1). Tests pass a stream. */
  destination?: NodeJS.WritableStream | number
}

/**
 * Every log line is JSON shaped for Datadog: `message` key, ISO `timestamp`, level as a name, and the base
 * fields service/env/version/runId/role/workerId. This answers the field complaint that framework logs were
 * unstructured and showed up as errors. Secrets are redacted (src/shared/redact.ts) wherever they appear:
 * secret-named fields in any case at any depth, and user:password in URLs in fields, errors and messages.
 */
export function createLogger(context: LoggerContext): Logger {
  const tags = unifiedServiceTags()
  const options: LoggerOptions = {
    level: context.level ?? process.env.HORDE_LOG_LEVEL ?? 'info',
    messageKey: 'message',
    // Datadog reads `timestamp`; pino's isoTime would name the field `time`.
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: {
      level: (label) => ({ level: label }),
      // pino's own `redact` matches exact, case-sensitive paths: `headers.Authorization` slipped through.
      log: (object) => redactSecrets(object),
    },
    serializers: {
      err: (error: unknown) => redactSecrets({ ...(pino.stdSerializers.err(error as Error) as object) }),
    },
    hooks: {
      // The message string too: 'cannot reach http://user:pass@host' must not carry the password.
      logMethod(args, method) {
        const redacted = args.map((arg: unknown) =>
          typeof arg === 'string' ? redactUrlCredentials(arg) : arg,
        ) as Parameters<typeof method>
        method.apply(this, redacted)
      },
    },
    base: {
      // The same env/service/version as the run's traces and metrics (datadog-tags.ts).
      service: tags.service,
      env: tags.env,
      version: tags.version,
      runId: context.runId,
      role: context.role,
      workerId: context.workerId,
    },
  }
  const destination = context.destination ?? 1
  return typeof destination === 'number'
    ? pino(options, pino.destination({ fd: destination, sync: false }))
    : pino(options, destination)
}

export { HORDE_VERSION } from './version.js'

export type { Logger }
