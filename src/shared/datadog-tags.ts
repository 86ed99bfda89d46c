import { HORDE_VERSION } from './version.js'

/**
 * Datadog's unified service tags (env, service, version), read from one place so that logs, traces and
 * metrics carry the same three values. On Kubernetes the manifests set DD_ENV/DD_SERVICE/DD_VERSION from the
 * pod's `tags.datadoghq.com/*` labels, so the labels are the fourth place and agree by construction.
 */
export interface UnifiedServiceTags {
  readonly env: string
  readonly service: string
  readonly version: string
}

export function unifiedServiceTags(env: NodeJS.ProcessEnv = process.env): UnifiedServiceTags {
  return Object.freeze({
    env: nonEmpty(env.DD_ENV) ?? 'local',
    service: nonEmpty(env.DD_SERVICE) ?? 'horde',
    version: nonEmpty(env.DD_VERSION) ?? HORDE_VERSION,
  })
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}
