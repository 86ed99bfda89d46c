import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT, startProcess, type TestProcess } from './processes.js'
import type { K8sObject } from './k8s-render.js'

/**
 * Real containers with Debian's podman (test-components §8): runc with cgroupfs, a containers.conf without
 * default ulimits, the image built from the repository's Dockerfile on a locally made stand-in base.
 */
const CONF = join(REPO_ROOT, 'scripts', 'containers', 'containers.conf')
const GLOBAL = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs']
const ENV = { ...process.env, CONTAINERS_CONF: CONF }

export async function podman(args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await promisify(execFile)('podman', [...GLOBAL, ...args], {
    env: ENV,
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  })
  return stdout
}

/** `podman run ...` as a child process: its exit code is the container's. */
export function startPodman(args: string[]): TestProcess {
  return startProcess('podman', [...GLOBAL, ...args], { env: { CONTAINERS_CONF: CONF } })
}

const CONTEXT = [
  'Dockerfile',
  '.dockerignore',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'bin',
  'src',
  'report',
  'scenarios',
]

/** A hash of what the Dockerfile copies, so the image is built once per source state, not once per test file. */
async function contextHash(): Promise<string> {
  const { stdout } = await promisify(execFile)(
    'git',
    ['ls-files', '-co', '--exclude-standard', '--', ...CONTEXT],
    {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    },
  )
  const hash = createHash('sha256')
  for (const file of stdout.split('\n').filter(Boolean).sort()) {
    hash.update(file).update('\0')
    try {
      hash.update(readFileSync(join(REPO_ROOT, file)))
    } catch {
      hash.update('deleted')
    }
  }
  return hash.digest('hex').slice(0, 16)
}

/**
 * The stand-in base (cached by its tag, ~50 s once per machine) and the project's image (cached by the source
 * hash). npm inside the build reaches the registry through this workplace's TLS interception, hence the
 * optional CA secret; a real build passes nothing.
 */
export async function buildHordeImage(): Promise<string> {
  await promisify(execFile)('bash', [join(REPO_ROOT, 'scripts', 'containers', 'stand-in-base.sh')], {
    env: ENV,
    timeout: 600_000,
  })
  const tag = `localhost/horde:ctx-${await contextHash()}`
  const exists = await podman(['image', 'exists', tag]).then(
    () => true,
    () => false,
  )
  if (exists) return tag
  const { stdout: revision } = await promisify(execFile)('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT })
  await podman(
    [
      'build',
      '--network',
      'host',
      '--secret',
      'id=npm-ca,src=/etc/ssl/certs/ca-certificates.crt',
      '--build-arg',
      `REVISION=${revision.trim()}`,
      '-t',
      tag,
      REPO_ROOT,
    ],
    600_000,
  )
  // Images of earlier source states are dead weight (~320 MB each); one in use by a container stays.
  const old = (await podman(['images', '--format', '{{.Repository}}:{{.Tag}}', 'localhost/horde']))
    .split('\n')
    .filter((t) => /^localhost\/horde:ctx-[0-9a-f]{16}$/.test(t) && t !== tag)
  if (old.length > 0) await podman(['rmi', ...old]).catch(() => undefined)
  // The build stage stays behind as an untagged ~580 MB image; only ours carry this label.
  await podman(['image', 'prune', '-f', '--filter', 'label=horde.dev/stage=build']).catch(() => undefined)
  return tag
}

export interface PodRun {
  /** Unique container name (the test removes it by this name). */
  name: string
  /** The job completion index for Indexed Jobs. */
  index?: number
  /** Env set after the pod's own (for the loopback rehearsal only; each use says why). */
  overrides?: Record<string, string>
  /** Host paths for the pod's volumes by volume name (others become tmpfs, like an emptyDir). */
  volumes?: Record<string, string>
  /** Host file mounted at the container's terminationMessagePath, as the kubelet does. */
  terminationLog?: string
  /** Names that resolve to 127.0.0.1 inside the container (Service names). */
  hosts?: string[]
}

/**
 * A rendered Job's pod template as `podman run` arguments: the container's command, args, env (ConfigMap
 * envFrom, fieldRefs to the pod's labels, completion index and node IP; optional Secrets absent), working dir, user,
 * read-only root, dropped capabilities and no-new-privileges. All on the host's loopback (--network host).
 */
export function podRunArgs(job: K8sObject, configMap: K8sObject, run: PodRun): string[] {
  const template = (job.spec as { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } })
    .template
  const pod = template.spec
  const c = pod.containers[0] as Container
  const env = new Map<string, string>()
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef?.name !== configMap.metadata.name)
      throw new Error(`unknown envFrom ${JSON.stringify(from)}`)
    for (const [k, v] of Object.entries(configMap.data as Record<string, string>)) env.set(k, v)
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env.set(e.name, e.value)
    const field = e.valueFrom?.fieldRef?.fieldPath
    if (field !== undefined) {
      const label = /^metadata\.labels\['(.+)'\]$/.exec(field)?.[1]
      if (label !== undefined) env.set(e.name, template.metadata.labels[label] ?? '')
      else if (field === "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        env.set(e.name, String(run.index ?? 0))
      // The node's IP (DD_AGENT_HOST: the node's Datadog agent); with --network host the node is this machine.
      else if (field === 'status.hostIP') env.set(e.name, '127.0.0.1')
      else throw new Error(`unhandled fieldRef ${field}`)
    }
    const secret = e.valueFrom?.secretKeyRef
    if (secret !== undefined && secret.optional !== true) throw new Error(`required Secret ${secret.name}`)
  }
  for (const [k, v] of Object.entries(run.overrides ?? {})) env.set(k, v)

  const sc = { ...pod.securityContext, ...c.securityContext }
  const args = ['run', '--rm', '--name', run.name, '--network', 'host', '--pull', 'never']
  if (sc.runAsUser !== undefined) args.push('--user', `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}`)
  if (sc.readOnlyRootFilesystem === true) args.push('--read-only')
  if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges')
  if (sc.capabilities?.drop?.includes('ALL') === true) args.push('--cap-drop', 'all')
  if (c.workingDir !== undefined) args.push('--workdir', c.workingDir)
  for (const m of c.volumeMounts ?? []) {
    const host = run.volumes?.[m.name]
    args.push(
      ...(host === undefined ? ['--tmpfs', `${m.mountPath}:rw,mode=1777`] : ['-v', `${host}:${m.mountPath}`]),
    )
  }
  if (run.terminationLog !== undefined && c.terminationMessagePath !== undefined) {
    args.push('-v', `${run.terminationLog}:${c.terminationMessagePath}`)
  }
  for (const host of run.hosts ?? []) args.push('--add-host', `${host}:127.0.0.1`)
  for (const [k, v] of env) args.push('-e', `${k}=${v}`)
  if (c.command !== undefined) args.push('--entrypoint', JSON.stringify(c.command))
  args.push(c.image, ...(c.args ?? []))
  return args
}

interface Container {
  image: string
  command?: string[]
  args?: string[]
  workingDir?: string
  envFrom?: Array<{ configMapRef?: { name: string } }>
  env?: Array<{
    name: string
    value?: string
    valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; optional?: boolean } }
  }>
  securityContext?: SecurityContext
  volumeMounts?: Array<{ name: string; mountPath: string }>
  terminationMessagePath?: string
}
interface SecurityContext {
  runAsUser?: number
  runAsGroup?: number
  readOnlyRootFilesystem?: boolean
  allowPrivilegeEscalation?: boolean
  capabilities?: { drop?: string[] }
}
interface PodSpec {
  containers: Container[]
  securityContext?: SecurityContext
}

/** Removes containers this test started, by their unique names. */
export async function removeContainers(names: string[]): Promise<void> {
  if (names.length === 0) return
  await podman(['rm', '-f', '--time', '0', ...names]).catch(() => undefined)
}
