import { randomBytes } from 'node:crypto'
import {
  ContainerConfigError,
  resolveEnv,
  startContainer,
  type Container,
  type ContainerRun,
  type ImageSpec,
} from './container.js'
import type { KubeObject, Store } from './store.js'

/**
 * The kubelet and the Job controller, reduced to what a load-test run meets: Jobs make pods (Indexed
 * completion with its index env), pods run as local processes, their status follows the processes
 * (phase, container state, exit code, termination message), failures count against backoffLimit,
 * activeDeadlineSeconds and ttlSecondsAfterFinished act, deletion honours grace periods and
 * propagationPolicy. Infrastructure failures are injected per pod (image pull, unschedulable, OOM kill).
 */
export type PodFault =
  | { kind: 'ErrImagePull'; message?: string }
  | { kind: 'Unschedulable'; message?: string }
  | { kind: 'OOMKilled'; afterMs: number }

export interface ControllerOptions {
  store: Store
  images: Record<string, ImageSpec>
  cwd: string
  baseEnv: () => Record<string, string>
  rewriteHosts: (namespace: string) => (value: string) => string
  faultFor: (pod: KubeObject) => PodFault | undefined
}

interface PodRuntime {
  runs: ContainerRun[]
  timers: NodeJS.Timeout[]
  oomKilled: boolean
  done: Promise<void>
}

const PODS = 'v1/pods'
const JOBS = 'batch/v1/jobs'
const now = (): string => new Date().toISOString()
const suffix = (): string => randomBytes(3).toString('hex').slice(0, 5)
type Status = Record<string, unknown>

export function createController(o: ControllerOptions) {
  const { store } = o
  const runtimes = new Map<string, PodRuntime>()
  const jobTimers = new Map<string, NodeJS.Timeout[]>()
  const podKey = (ns: string, name: string): string => `${ns}/${name}`

  function setPodStatus(ns: string, name: string, change: (status: Status) => void): void {
    const pod = store.get(PODS, ns, name)
    if (pod === undefined) return
    const status = (pod.status ??= {})
    change(status)
    store.update(PODS, pod)
  }

  function containerStatus(c: Container, state: Record<string, unknown>, ready = false): Status {
    return { name: c.name, image: c.image, ready, restartCount: 0, started: 'running' in state, state }
  }

  /** The kubelet: called for every pod the API accepts. */
  function runPod(pod: KubeObject): void {
    const ns = pod.metadata.namespace ?? 'default'
    const name = pod.metadata.name
    const containers = (pod.spec?.containers ?? []) as Container[]
    const fault = o.faultFor(pod)
    if (fault?.kind === 'Unschedulable') {
      setPodStatus(ns, name, (s) => {
        s.phase = 'Pending'
        s.conditions = [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message:
              fault.message ??
              '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available.',
            lastTransitionTime: now(),
          },
        ]
      })
      return
    }
    const waiting = (reason: string, message: string): void =>
      setPodStatus(ns, name, (s) => {
        s.phase = 'Pending'
        s.conditions = [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now() }]
        s.containerStatuses = containers.map((c) => containerStatus(c, { waiting: { reason, message } }))
      })
    const unknown = containers.find((c) => !(c.image in o.images))
    if (fault?.kind === 'ErrImagePull' || unknown !== undefined) {
      const image = unknown?.image ?? containers[0]?.image ?? ''
      const message =
        fault?.kind === 'ErrImagePull' && fault.message !== undefined
          ? fault.message
          : `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": not found`
      waiting('ErrImagePull', message)
      // The kubelet backs off after the first failure; a watcher sees both reasons.
      const t = setTimeout(() => waiting('ImagePullBackOff', `Back-off pulling image "${image}"`), 200)
      runtimes.set(podKey(ns, name), { runs: [], timers: [t], oomKilled: false, done: Promise.resolve() })
      return
    }
    let runs: ContainerRun[]
    try {
      const base = o.baseEnv()
      const envs = containers.map((c) => resolveEnv(c, pod, store, { ...base, HOSTNAME: name }))
      runs = containers.map((c, i) =>
        startContainer(c, o.images[c.image] as ImageSpec, envs[i] ?? {}, o.rewriteHosts(ns), o.cwd),
      )
    } catch (error) {
      if (!(error instanceof ContainerConfigError)) throw error
      waiting('CreateContainerConfigError', error.message)
      return
    }
    const runtime: PodRuntime = { runs, timers: [], oomKilled: false, done: Promise.resolve() }
    runtimes.set(podKey(ns, name), runtime)
    setPodStatus(ns, name, (s) => {
      s.phase = 'Running'
      s.podIP = '127.0.0.1'
      s.startTime = now()
      s.conditions = [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: 'True' },
      ]
      s.containerStatuses = containers.map((c, i) =>
        containerStatus(c, { running: { startedAt: runs[i]?.startedAt } }, true),
      )
    })
    if (fault?.kind === 'OOMKilled')
      runtime.timers.push(
        setTimeout(() => {
          runtime.oomKilled = true
          for (const r of runs) r.signal('SIGKILL')
        }, fault.afterMs),
      )
    runtime.done = Promise.all(runs.map((r) => r.exited)).then((exits) => {
      for (const t of runtime.timers) clearTimeout(t)
      const terminated = exits.map((e, i) => ({
        exitCode: runtime.oomKilled ? 137 : e.exitCode,
        ...(e.signal ? { signal: e.signal === 'SIGKILL' ? 9 : 15 } : {}),
        reason: runtime.oomKilled ? 'OOMKilled' : e.exitCode === 0 ? 'Completed' : 'Error',
        message: runs[i]?.terminationMessage(e.exitCode) || undefined,
        startedAt: runs[i]?.startedAt,
        finishedAt: e.finishedAt,
      }))
      for (const r of runs) r.cleanup()
      setPodStatus(ns, name, (s) => {
        s.phase = terminated.every((t) => t.exitCode === 0) ? 'Succeeded' : 'Failed'
        s.conditions = [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'False', reason: 'PodCompleted' },
        ]
        s.containerStatuses = containers.map((c, i) => containerStatus(c, { terminated: terminated[i] }))
      })
      const owner = pod.metadata.ownerReferences?.find((r) => r.kind === 'Job')
      if (owner !== undefined) syncJob(ns, owner.name)
    })
  }

  /** Deletes a pod as the kubelet does: SIGTERM, the grace period, SIGKILL, then the object goes. */
  async function deletePod(ns: string, name: string, graceS?: number): Promise<void> {
    const pod = store.get(PODS, ns, name)
    if (pod === undefined || pod.metadata.deletionTimestamp !== undefined) return
    pod.metadata.deletionTimestamp = now()
    store.update(PODS, pod)
    const runtime = runtimes.get(podKey(ns, name))
    const grace = graceS ?? Number(pod.spec?.terminationGracePeriodSeconds ?? 30)
    if (runtime !== undefined) {
      for (const t of runtime.timers) clearTimeout(t)
      for (const r of runtime.runs) r.signal('SIGTERM')
      const kill = setTimeout(() => runtime.runs.forEach((r) => r.signal('SIGKILL')), grace * 1000)
      await runtime.done
      clearTimeout(kill)
      runtimes.delete(podKey(ns, name))
    }
    store.remove(PODS, ns, name)
  }

  function podsOf(job: KubeObject): KubeObject[] {
    return store.list(
      PODS,
      job.metadata.namespace,
      (p) => p.metadata.ownerReferences?.some((r) => r.uid === job.metadata.uid) === true,
    )
  }

  function createPod(job: KubeObject, index: number | null): void {
    const spec = job.spec as {
      template: { metadata?: KubeObject['metadata']; spec: Record<string, unknown> }
    }
    const ns = job.metadata.namespace ?? 'default'
    const jobName = job.metadata.name
    const uid = job.metadata.uid ?? ''
    const indexLabels: Record<string, string> =
      index === null ? {} : { 'batch.kubernetes.io/job-completion-index': String(index) }
    const podSpec = structuredClone(spec.template.spec)
    if (index !== null)
      // The Job controller adds JOB_COMPLETION_INDEX to every container of an Indexed Job's pods.
      for (const c of (podSpec.containers ?? []) as Container[])
        c.env = [
          ...(c.env ?? []),
          {
            name: 'JOB_COMPLETION_INDEX',
            valueFrom: {
              fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']" },
            },
          },
        ]
    const pod = store.create(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${jobName}-${index === null ? '' : `${index}-`}${suffix()}`,
        namespace: ns,
        labels: {
          ...(spec.template.metadata?.labels ?? {}),
          'batch.kubernetes.io/controller-uid': uid,
          'batch.kubernetes.io/job-name': jobName,
          'controller-uid': uid,
          'job-name': jobName,
          ...indexLabels,
        },
        annotations: { ...(spec.template.metadata?.annotations ?? {}), ...indexLabels },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: jobName, uid, controller: true }],
      },
      spec: podSpec,
      status: { phase: 'Pending' },
    })
    setImmediate(() => runPod(pod))
  }

  const state = (p: KubeObject): string => (p.status?.phase as string | undefined) ?? 'Pending'
  const indexOf = (p: KubeObject): number =>
    Number(p.metadata.labels?.['batch.kubernetes.io/job-completion-index'] ?? -1)

  function compressIndexes(indexes: number[]): string {
    const out: string[] = []
    for (let i = 0; i < indexes.length;) {
      let j = i
      while (j + 1 < indexes.length && indexes[j + 1] === (indexes[j] ?? 0) + 1) j++
      out.push(i === j ? String(indexes[i]) : `${indexes[i]}-${indexes[j]}`)
      i = j + 1
    }
    return out.join(',')
  }

  function finish(job: KubeObject, type: 'Complete' | 'Failed', reason?: string, message?: string): void {
    const s = (job.status ??= {})
    s.conditions = [
      {
        type,
        status: 'True',
        ...(reason ? { reason, message } : {}),
        lastTransitionTime: now(),
        lastProbeTime: now(),
      },
    ]
    if (type === 'Complete') s.completionTime = now()
    store.update(JOBS, job)
    for (const t of jobTimers.get(job.metadata.uid ?? '') ?? []) clearTimeout(t)
    const ttl = (job.spec as { ttlSecondsAfterFinished?: number }).ttlSecondsAfterFinished
    if (ttl !== undefined)
      setTimeout(
        () => void deleteJob(job.metadata.namespace ?? 'default', job.metadata.name, 'Background'),
        ttl * 1000,
      )
    if (type === 'Failed')
      for (const p of podsOf(job))
        if (!['Succeeded', 'Failed'].includes(state(p)))
          void deletePod(p.metadata.namespace ?? 'default', p.metadata.name)
  }

  /** The Job controller's loop for one Job: count pods, replace failed ones, decide Complete or Failed. */
  function syncJob(ns: string, name: string): void {
    const job = store.get(JOBS, ns, name)
    if (job === undefined || job.metadata.deletionTimestamp !== undefined) return
    const spec = job.spec as {
      completions?: number
      parallelism?: number
      backoffLimit?: number
      completionMode?: string
      suspend?: boolean
    }
    const done = ((job.status?.conditions ?? []) as Array<{ type: string }>).some(
      (c) => c.type === 'Complete' || c.type === 'Failed',
    )
    if (done || spec.suspend === true) return
    const indexed = spec.completionMode === 'Indexed'
    const completions = spec.completions ?? spec.parallelism ?? 1
    const pods = podsOf(job)
    const active = pods.filter(
      (p) => !['Succeeded', 'Failed'].includes(state(p)) && p.metadata.deletionTimestamp === undefined,
    )
    const failed = pods.filter((p) => state(p) === 'Failed').length
    const succeededIdx = [...new Set(pods.filter((p) => state(p) === 'Succeeded').map(indexOf))].sort(
      (a, b) => a - b,
    )
    const succeeded = indexed ? succeededIdx.length : pods.filter((p) => state(p) === 'Succeeded').length
    const s = (job.status ??= {})
    Object.assign(s, {
      active: active.length,
      ready: active.filter((p) => state(p) === 'Running').length,
      succeeded,
      failed,
      ...(indexed ? { completedIndexes: compressIndexes(succeededIdx) } : {}),
    })
    store.update(JOBS, job)
    if (failed > (spec.backoffLimit ?? 6))
      return finish(job, 'Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')
    if (succeeded >= completions) return finish(job, 'Complete')
    const parallelism = spec.parallelism ?? 1
    if (indexed) {
      const busy = new Set([...active.map(indexOf), ...succeededIdx])
      for (let i = 0, room = parallelism - active.length; i < completions && room > 0; i++)
        if (!busy.has(i)) {
          createPod(job, i)
          room--
        }
    } else {
      for (let n = Math.min(parallelism, completions - succeeded) - active.length; n > 0; n--)
        createPod(job, null)
    }
  }

  function jobCreated(job: KubeObject): void {
    const ns = job.metadata.namespace ?? 'default'
    const s = (job.status ??= {})
    s.startTime = now()
    s.active = 0
    store.update(JOBS, job)
    const deadline = (job.spec as { activeDeadlineSeconds?: number }).activeDeadlineSeconds
    if (deadline !== undefined)
      jobTimers.set(job.metadata.uid ?? '', [
        setTimeout(() => {
          const current = store.get(JOBS, ns, job.metadata.name)
          if (current !== undefined && current.metadata.deletionTimestamp === undefined)
            finish(current, 'Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline')
        }, deadline * 1000),
      ])
    setImmediate(() => syncJob(ns, job.metadata.name))
  }

  /** DELETE of a Job: Foreground waits for its pods, Background deletes them after, Orphan leaves them running. */
  async function deleteJob(ns: string, name: string, policy: string): Promise<KubeObject | undefined> {
    const job = store.get(JOBS, ns, name)
    if (job === undefined) return undefined
    for (const t of jobTimers.get(job.metadata.uid ?? '') ?? []) clearTimeout(t)
    const pods = podsOf(job)
    if (policy === 'Foreground') {
      job.metadata.deletionTimestamp = now()
      job.metadata.finalizers = ['foregroundDeletion']
      const marked = store.update(JOBS, job)
      void Promise.all(pods.map((p) => deletePod(ns, p.metadata.name))).then(() =>
        store.remove(JOBS, ns, name),
      )
      return marked
    }
    const removed = store.remove(JOBS, ns, name)
    if (policy === 'Background') for (const p of pods) void deletePod(ns, p.metadata.name)
    else
      for (const p of pods) {
        delete p.metadata.ownerReferences
        store.update(PODS, p)
      }
    return removed
  }

  return {
    runPod,
    deletePod,
    jobCreated,
    deleteJob,
    logsOf: (ns: string, name: string, container?: string): ContainerRun | undefined => {
      const runtime = runtimes.get(podKey(ns, name))
      const pod = store.get(PODS, ns, name)
      const i =
        container === undefined
          ? 0
          : ((pod?.spec?.containers ?? []) as Container[]).findIndex((c) => c.name === container)
      return runtime?.runs[i]
    },
    /** Processes still running, for tests that assert nothing is left. */
    runningPids: (): number[] =>
      [...runtimes.values()].flatMap((r) => r.runs.filter((x) => x.running()).map((x) => x.pid)),
    async close(): Promise<void> {
      for (const ts of jobTimers.values()) ts.forEach(clearTimeout)
      for (const r of runtimes.values()) {
        r.timers.forEach(clearTimeout)
        r.runs.forEach((x) => x.signal('SIGKILL'))
      }
      await Promise.all([...runtimes.values()].map((r) => r.done))
    },
  }
}
export type Controller = ReturnType<typeof createController>
