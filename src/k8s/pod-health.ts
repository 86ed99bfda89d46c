import type { KubeObject } from './kube-client.js'

/**
 * Reads a run's pods and Jobs the way a person would in `kubectl describe`, and names the infrastructure
 * failures that make a run's numbers meaningless (the run is then `invalid`, whatever the master would say):
 * an image that cannot be pulled, pods that cannot be scheduled or stay pending past a limit, workers killed
 * for memory or crashing again and again, a Job past its deadline. Pure: the watcher feeds it what it saw.
 */
type ContainerState = {
  waiting?: { reason?: string; message?: string }
  running?: { startedAt?: string }
  terminated?: { exitCode?: number; reason?: string; message?: string }
}
type ContainerStatus = { name: string; state?: ContainerState }
type Condition = { type: string; status: string; reason?: string; message?: string }

const PULL_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull'])
const CONFIG_FAILURES = new Set(['CreateContainerConfigError', 'CreateContainerError'])
/** A worker that died this many times is crash-looping: its replacements will not fix the run. */
export const WORKER_CRASHES_LIMIT = 2

export const roleOf = (o: KubeObject): string => o.metadata.labels?.['horde.dev/role'] ?? 'pod'
const statuses = (pod: KubeObject): ContainerStatus[] =>
  (pod.status?.containerStatuses as ContainerStatus[] | undefined) ?? []
const conditions = (o: KubeObject): Condition[] => (o.status?.conditions as Condition[] | undefined) ?? []

export function terminatedState(
  pod: KubeObject,
  container?: string,
): ContainerState['terminated'] | undefined {
  const s = statuses(pod).find((c) => container === undefined || c.name === container) ?? statuses(pod)[0]
  return s?.state?.terminated
}

export function isRunning(pod: KubeObject): boolean {
  return pod.status?.phase === 'Running'
}

export interface RunHealthInput {
  pods: KubeObject[]
  jobs: KubeObject[]
  /** When each pod was first seen pending (by name). */
  pendingSinceMs: ReadonlyMap<string, number>
  nowMs: number
  pendingLimitMs: number
}

/** The first infrastructure failure among the run's pods and Jobs, as a sentence with the fix, or null. */
export function infrastructureFailure(input: RunHealthInput): string | null {
  const limitS = Math.round(input.pendingLimitMs / 1000)
  for (const pod of input.pods) {
    const name = pod.metadata.name
    for (const c of statuses(pod)) {
      const w = c.state?.waiting
      if (w?.reason !== undefined && PULL_FAILURES.has(w.reason))
        return `the ${roleOf(pod)} pod ${name} cannot pull its image (${w.reason}: ${w.message ?? 'no message'}); check the image input and that the cluster's nodes may read the registry`
      if (w?.reason !== undefined && CONFIG_FAILURES.has(w.reason))
        return `the ${roleOf(pod)} pod ${name} cannot start its container (${w.reason}: ${w.message ?? 'no message'})`
      const t = c.state?.terminated
      if (t?.reason === 'OOMKilled')
        return `the ${roleOf(pod)} pod ${name} was OOMKilled (out of memory, exit ${t.exitCode ?? 137}); raise its memory limit in a team overlay or lower the users per pod`
    }
    if (pod.status?.phase === 'Pending' && pod.metadata.deletionTimestamp === undefined) {
      const since = input.pendingSinceMs.get(name) ?? input.nowMs
      if (input.nowMs - since >= input.pendingLimitMs) {
        const unschedulable = conditions(pod).find((c) => c.type === 'PodScheduled' && c.status === 'False')
        return unschedulable !== undefined
          ? `the ${roleOf(pod)} pod ${name} could not be scheduled for ${limitS} s (${unschedulable.reason ?? 'Unschedulable'}: ${unschedulable.message ?? ''}); lower pods, or give the node pool room (autoscaling, quota)`
          : `the ${roleOf(pod)} pod ${name} stayed pending for ${limitS} s; see kubectl describe pod ${name}`
      }
    }
  }
  const crashed = input.pods.filter((p) => {
    const t = terminatedState(p)
    return roleOf(p) === 'worker' && t !== undefined && (t.exitCode ?? 0) !== 0
  })
  if (crashed.length >= WORKER_CRASHES_LIMIT) {
    const last = terminatedState(crashed[crashed.length - 1] as KubeObject)
    return `${crashed.length} worker pods crashed (last: exit ${last?.exitCode}${last?.message ? `, ${last.message.slice(0, 300)}` : ''}); see the worker logs`
  }
  for (const job of input.jobs) {
    const failed = conditions(job).find((c) => c.type === 'Failed' && c.status === 'True')
    if (failed === undefined) continue
    if (failed.reason === 'DeadlineExceeded')
      return `the ${roleOf(job)} Job ${job.metadata.name} passed its deadline (activeDeadlineSeconds) before the master reported; the run took longer than its duration plus margins`
    if (roleOf(job) === 'worker')
      return `the worker Job ${job.metadata.name} failed (${failed.reason ?? 'Failed'}: ${failed.message ?? ''})`
  }
  return null
}
