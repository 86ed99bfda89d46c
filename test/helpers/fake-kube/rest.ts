import type { IncomingMessage } from 'node:http'
import { parse as parseYaml } from 'yaml'
import type { KubeObject } from './store.js'

/** The REST machinery of the fake API server: known resources, Status errors, decoding and admission checks. */

// resource path segment → [apiVersion, kind, namespaced]
export const RESOURCES: Record<string, [string, string]> = {
  'v1/pods': ['v1', 'Pod'],
  'v1/services': ['v1', 'Service'],
  'v1/configmaps': ['v1', 'ConfigMap'],
  'v1/secrets': ['v1', 'Secret'],
  'v1/serviceaccounts': ['v1', 'ServiceAccount'],
  'batch/v1/jobs': ['batch/v1', 'Job'],
  'networking.k8s.io/v1/networkpolicies': ['networking.k8s.io/v1', 'NetworkPolicy'],
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message)
  }
}

export const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
})

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export function parseObject(text: string, contentType: string): KubeObject {
  try {
    return (contentType.includes('yaml') ? parseYaml(text) : JSON.parse(text)) as KubeObject
  } catch (error) {
    throw new ApiError(400, 'BadRequest', `the body could not be decoded: ${(error as Error).message}`)
  }
}

export function validate(resource: string, ns: string, obj: KubeObject, name?: string): KubeObject {
  const [apiVersion, kind] = RESOURCES[resource] ?? ['', '']
  if (typeof obj !== 'object' || obj === null || typeof obj.metadata !== 'object')
    throw new ApiError(400, 'BadRequest', 'Object has no metadata')
  if (obj.kind !== kind || obj.apiVersion !== apiVersion)
    throw new ApiError(
      400,
      'BadRequest',
      `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion}) or kind ${obj.kind} is not ${kind}`,
    )
  if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== ns)
    throw new ApiError(
      400,
      'BadRequest',
      'the namespace of the provided object does not match the namespace sent on the request',
    )
  if (obj.metadata.name === undefined && typeof obj.metadata.generateName === 'string')
    obj.metadata.name = `${obj.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`
  if (name !== undefined && obj.metadata.name !== name)
    throw new ApiError(
      400,
      'BadRequest',
      `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
    )
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(obj.metadata.name ?? ''))
    throw new ApiError(
      422,
      'Invalid',
      `${kind} "${obj.metadata.name}" is invalid: metadata.name: Invalid value: "${obj.metadata.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
    )
  if (kind === 'Job') {
    const spec = obj.spec as
      { template?: { spec?: { restartPolicy?: string; containers?: unknown[] } } } | undefined
    const rp = spec?.template?.spec?.restartPolicy
    if (rp !== 'Never' && rp !== 'OnFailure')
      throw new ApiError(
        422,
        'Invalid',
        `Job.batch "${obj.metadata.name}" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`,
      )
    if (!Array.isArray(spec?.template?.spec?.containers) || spec.template.spec.containers.length === 0)
      throw new ApiError(
        422,
        'Invalid',
        `Job.batch "${obj.metadata.name}" is invalid: spec.template.spec.containers: Required value`,
      )
  }
  return { ...obj, metadata: { ...obj.metadata, namespace: ns } }
}
