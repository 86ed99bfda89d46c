import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { KubeObject, Store } from './store.js'

/**
 * One container of a pod, run as a local process the way the kubelet would run it: the image's entrypoint
 * unless `command` is given, `args` (else the image's cmd), `$(VAR)` expanded from the container's env, env
 * and envFrom resolved from the pod, ConfigMaps and Secrets, a termination message file. Nothing from the
 * test's own environment leaks in except PATH.
 */

/** What the fake knows of an image: an image it does not know cannot be pulled (ErrImagePull). */
export interface ImageSpec {
  entrypoint: string[]
  cmd?: string[]
  workingDir?: string
  env?: Record<string, string>
}

type EnvVar = {
  name: string
  value?: string
  valueFrom?: {
    fieldRef?: { fieldPath: string }
    configMapKeyRef?: { name: string; key: string; optional?: boolean }
    secretKeyRef?: { name: string; key: string; optional?: boolean }
    resourceFieldRef?: { resource: string }
  }
}
type EnvFrom = {
  prefix?: string
  configMapRef?: { name: string; optional?: boolean }
  secretRef?: { name: string; optional?: boolean }
}
export type Container = {
  name: string
  image: string
  command?: string[]
  args?: string[]
  workingDir?: string
  env?: EnvVar[]
  envFrom?: EnvFrom[]
  terminationMessagePath?: string
  terminationMessagePolicy?: string
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> }
}

/** A container that cannot be configured stays waiting with this reason, as the kubelet reports it. */
export class ContainerConfigError extends Error {}

function fieldValue(pod: KubeObject, path: string): string {
  const m = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path)
  if (m) return (pod.metadata[m[1] as 'labels' | 'annotations'] ?? {})[m[2] ?? ''] ?? ''
  const simple: Record<string, string> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace ?? 'default',
    'metadata.uid': pod.metadata.uid ?? '',
    'spec.nodeName': 'fake-node-1',
    'spec.serviceAccountName': (pod.spec?.serviceAccountName as string | undefined) ?? 'default',
    'status.podIP': '127.0.0.1',
    'status.hostIP': '127.0.0.1',
  }
  const v = simple[path]
  if (v === undefined) throw new ContainerConfigError(`unsupported fieldRef ${path}`)
  return v
}

function dataOf(store: Store, ns: string, kind: 'configmaps' | 'secrets', name: string, optional: boolean) {
  const o = store.get(`v1/${kind}`, ns, name)
  if (o === undefined) {
    if (optional) return undefined
    throw new ContainerConfigError(`${kind === 'configmaps' ? 'configmap' : 'secret'} "${name}" not found`)
  }
  if (kind === 'configmaps') return (o.data ?? {}) as Record<string, string>
  const decoded: Record<string, string> = {}
  for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, string>))
    decoded[k] = Buffer.from(v, 'base64').toString()
  return { ...decoded, ...((o.stringData ?? {}) as Record<string, string>) }
}

/** `$(VAR)` → its value when VAR is defined earlier; `$$(VAR)` → `$(VAR)`; unknown references stay as written. */
export function expandRefs(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name: string | undefined) =>
    all === '$$' ? '$' : name !== undefined && name in env ? (env[name] ?? '') : all,
  )
}

export function resolveEnv(
  container: Container,
  pod: KubeObject,
  store: Store,
  base: Record<string, string>,
): Record<string, string> {
  const ns = pod.metadata.namespace ?? 'default'
  const env: Record<string, string> = { ...base }
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef
    if (ref === undefined) continue
    const data =
      dataOf(store, ns, from.configMapRef ? 'configmaps' : 'secrets', ref.name, ref.optional === true) ?? {}
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v
  }
  for (const e of container.env ?? []) {
    const f = e.valueFrom
    if (f === undefined) env[e.name] = expandRefs(e.value ?? '', env)
    else if (f.fieldRef) env[e.name] = fieldValue(pod, f.fieldRef.fieldPath)
    else if (f.configMapKeyRef || f.secretKeyRef) {
      const ref = (f.configMapKeyRef ?? f.secretKeyRef) as { name: string; key: string; optional?: boolean }
      const data = dataOf(
        store,
        ns,
        f.configMapKeyRef ? 'configmaps' : 'secrets',
        ref.name,
        ref.optional === true,
      )
      const v = data?.[ref.key]
      if (v === undefined && ref.optional !== true)
        throw new ContainerConfigError(
          `couldn't find key ${ref.key} in ${f.configMapKeyRef ? 'ConfigMap' : 'Secret'} ${ns}/${ref.name}`,
        )
      if (v !== undefined) env[e.name] = v
    } else if (f.resourceFieldRef) {
      const [kind, res] = f.resourceFieldRef.resource.split('.') as [string, string]
      const q = (container.resources?.[kind as 'limits' | 'requests'] ?? {})[res] ?? '1'
      env[e.name] = q.endsWith('m') ? String(Math.ceil(Number(q.slice(0, -1)) / 1000)) : q
    }
  }
  return env
}

export interface ContainerRun {
  pid: number
  startedAt: string
  exited: Promise<{ exitCode: number; signal: NodeJS.Signals | null; finishedAt: string }>
  /** Everything written to stdout and stderr so far. */
  logs(): string
  /** The same as lines, each with the time the kubelet would stamp on it (logs ?timestamps, ?sinceTime). */
  lines(): LogLine[]
  /** Called with each complete line until the process exits (pod logs ?follow=true). */
  onLine(listener: (line: LogLine) => void): () => void
  /** The termination message as the kubelet reads it (at most 4096 bytes; logs' tail on error if asked). */
  terminationMessage(exitCode: number): string
  signal(signal: NodeJS.Signals): void
  running(): boolean
  cleanup(): void
}

const LOG_MAX = 8 * 1024 * 1024
const LINES_MAX = 100_000

/** A log line and its time as the kubelet writes it with ?timestamps=true (RFC 3339, 9 fraction digits). */
export interface LogLine {
  ts: string
  text: string
}

// Wall clock with hrtime's resolution, strictly increasing, as the kubelet's CRI log timestamps are in practice.
const epochNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint()
let lastStampNs = 0n
function stampNow(): string {
  let ns = epochNs + process.hrtime.bigint()
  if (ns <= lastStampNs) ns = lastStampNs + 1n
  lastStampNs = ns
  const seconds = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19)
  return `${seconds}.${String(ns % 1_000_000_000n).padStart(9, '0')}Z`
}

export function startContainer(
  container: Container,
  image: ImageSpec,
  env: Record<string, string>,
  rewriteHosts: (value: string) => string,
  fallbackCwd: string,
): ContainerRun {
  // /dev/termination-log cannot be written here: give the process a file of its own under the same contract.
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-pod-'))
  const declaredPath = container.terminationMessagePath ?? '/dev/termination-log'
  const messagePath = join(dir, 'termination-log')
  const localise = (v: string): string => rewriteHosts(v.split(declaredPath).join(messagePath))
  const finalEnv: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...image.env, ...env })) finalEnv[k] = localise(v)
  const argv = [
    ...(container.command ?? image.entrypoint),
    ...(container.args ?? (container.command === undefined ? (image.cmd ?? []) : [])),
  ].map((a) => localise(expandRefs(a, finalEnv)))
  const cwd =
    [container.workingDir, image.workingDir].find((d) => d !== undefined && existsSync(d)) ?? fallbackCwd
  const [file, ...args] = argv
  if (file === undefined) throw new ContainerConfigError('no command and the image has no entrypoint')
  const child = spawn(file, args, { cwd, env: finalEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let partial = ''
  const lines: LogLine[] = []
  const listeners = new Set<(line: LogLine) => void>()
  const addLine = (text: string): void => {
    const line = { ts: stampNow(), text }
    lines.push(line)
    if (lines.length > LINES_MAX) lines.splice(0, LINES_MAX / 2)
    for (const l of listeners) l(line)
  }
  const onData = (b: Buffer): void => {
    const s = b.toString()
    output += s
    if (output.length > LOG_MAX) output = output.slice(-LOG_MAX / 2)
    partial += s
    let nl: number
    while ((nl = partial.indexOf('\n')) >= 0) {
      addLine(partial.slice(0, nl))
      partial = partial.slice(nl + 1)
    }
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = new Promise<{ exitCode: number; signal: NodeJS.Signals | null; finishedAt: string }>(
    (resolve) => {
      child.on('error', (error) => {
        onData(Buffer.from(`exec ${file}: ${error.message}\n`))
        resolve({ exitCode: 128, signal: null, finishedAt: new Date().toISOString() })
      })
      child.on('close', (code, signal) => {
        if (partial !== '') addLine(partial)
        partial = ''
        resolve({
          exitCode: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15),
          signal,
          finishedAt: new Date().toISOString(),
        })
      })
    },
  )
  return {
    pid: child.pid ?? -1,
    startedAt: new Date().toISOString(),
    exited,
    logs: () => output,
    lines: () => lines,
    onLine(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    terminationMessage(exitCode) {
      let message = existsSync(messagePath) ? readFileSync(messagePath).subarray(0, 4096).toString() : ''
      if (message === '' && exitCode !== 0 && container.terminationMessagePolicy === 'FallbackToLogsOnError')
        message = output.split('\n').slice(-81).join('\n').slice(-2048)
      return message
    },
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    running: () => child.exitCode === null && child.signalCode === null,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}
