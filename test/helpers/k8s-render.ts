import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { parseAllDocuments } from 'yaml'
import { Job } from 'kubernetes-models/batch/v1'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1'
import { HORDE_BIN, REPO_ROOT } from './horde-cli.js'

/** A rendered object, loosely typed: tests read what they check. */
/* eslint-disable @typescript-eslint/no-explicit-any --
   parsed YAML of several kinds; schemaErrors() checks the shape against the Kubernetes schemas */
export type K8sObject = {
  apiVersion: string
  kind: string
  metadata: { name: string; [k: string]: any }
  [k: string]: any
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface Rendered {
  code: number
  stdout: string
  stderr: string
  objects: K8sObject[]
}

/** Runs the built `horde k8s render` from the repository root, as CI would. */
export async function renderRun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Rendered> {
  const { HORDE_API_TOKEN: _t, ...clean } = process.env
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [HORDE_BIN, 'k8s', 'render', ...args],
      {
        cwd: REPO_ROOT,
        env: { ...clean, HORDE_LOG_LEVEL: 'warn', ...env },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 60_000,
      },
    )
    return { code: 0, stdout, stderr, objects: parseObjects(stdout) }
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string }
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '', objects: [] }
  }
}

export function parseObjects(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null)
}

const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
}

/** Validates every object against the Kubernetes OpenAPI schema of its kind; returns the failures. */
export function schemaErrors(objects: K8sObject[]): string[] {
  const errors: string[] = []
  for (const o of objects) {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`]
    if (Model === undefined) {
      errors.push(`${o.kind} ${o.metadata.name}: no schema model for ${o.apiVersion}/${o.kind}`)
      continue
    }
    try {
      new Model(o as never).validate()
    } catch (error) {
      errors.push(
        `${o.kind} ${o.metadata.name}: ${(error as Error).message.split('\n').slice(0, 3).join(' | ')}`,
      )
    }
  }
  return errors
}

export function find(objects: K8sObject[], kind: string, namePrefix: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.startsWith(namePrefix))
  if (found.length !== 1) throw new Error(`expected one ${kind} ${namePrefix}*, found ${found.length}`)
  return found[0] as K8sObject
}

export { REPO_ROOT }
