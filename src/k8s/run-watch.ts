import { setTimeout as sleep } from 'node:timers/promises'
import type { KubeClient, KubeObject, WatchEvent } from './kube-client.js'
import { infrastructureFailure, isRunning, roleOf, terminatedState } from './pod-health.js'

/**
 * Follows one run on the cluster until it ends: watches its Pods and Jobs (by the run-id label; a watch the
 * server closes resumes from its last resourceVersion, or lists again after 410 Gone), calls
 * `onMasterRunning` once the master's container runs (to stream its log), and resolves with how the run
 * ended — the master's container terminated (its exit code and termination message), or an infrastructure
 * failure that makes the run invalid.
 */
export type RunEnd =
  | { kind: 'master-ended'; exitCode: number; message: string; pod: string }
  | { kind: 'infrastructure'; reason: string }
  | { kind: 'aborted' }

export interface WatchRunOptions {
  client: KubeClient
  namespace: string
  runId: string
  pendingLimitMs: number
  onMasterRunning: (pod: string) => void
  /** A line for the step log when something changes (a pod starts, a worker is replaced). */
  onEvent: (text: string) => void
  signal: AbortSignal
}

const MASTER_CONTAINER = 'master'

export async function watchRun(o: WatchRunOptions): Promise<RunEnd> {
  // A cancel that came while the run was being applied: an aborted signal never fires 'abort' again.
  if (o.signal.aborted) return { kind: 'aborted' }
  const selector = `horde.dev/run-id=${o.runId}`
  const pods = new Map<string, KubeObject>()
  const jobs = new Map<string, KubeObject>()
  const pendingSince = new Map<string, number>()
  const phases = new Map<string, string>()
  let masterStreamed = false
  const inner = new AbortController()
  const abort = () => inner.abort()
  o.signal.addEventListener('abort', abort, { once: true })

  let settle: (end: RunEnd) => void = () => undefined
  const ended = new Promise<RunEnd>((resolve) => (settle = resolve))
  const finish = (end: RunEnd) => {
    settle(end)
    inner.abort()
  }

  const evaluate = (): void => {
    const now = Date.now()
    for (const pod of pods.values()) {
      const name = pod.metadata.name
      const phase = typeof pod.status?.phase === 'string' ? pod.status.phase : 'Pending'
      if (phase === 'Pending' && !pendingSince.has(name)) pendingSince.set(name, now)
      if (phases.get(name) !== phase) {
        phases.set(name, phase)
        o.onEvent(`${roleOf(pod)} pod ${name}: ${phase}`)
      }
      if (roleOf(pod) !== 'master') continue
      if (!masterStreamed && isRunning(pod)) {
        masterStreamed = true
        o.onMasterRunning(name)
      }
      const t = terminatedState(pod, MASTER_CONTAINER)
      if (t !== undefined)
        return finish({
          kind: 'master-ended',
          exitCode: t.exitCode ?? -1,
          message: t.message ?? '',
          pod: name,
        })
    }
    const reason = infrastructureFailure({
      pods: [...pods.values()],
      jobs: [...jobs.values()],
      pendingSinceMs: pendingSince,
      nowMs: now,
      pendingLimitMs: o.pendingLimitMs,
    })
    if (reason !== null) finish({ kind: 'infrastructure', reason })
  }

  const follow = async (kind: string, into: Map<string, KubeObject>): Promise<void> => {
    let failures = 0
    // Where a re-opened watch resumes; undefined: start over (every current object ADDED again).
    let resourceVersion: string | undefined
    while (!inner.signal.aborted) {
      // Starting over: forget what may have gone meanwhile.
      if (resourceVersion === undefined) into.clear()
      try {
        await o.client.watch(
          kind,
          o.namespace,
          selector,
          (e: WatchEvent) => {
            if (e.type === 'ERROR') {
              // 410 Gone: the resumed version is older than the server keeps; list everything again.
              resourceVersion = undefined
              const status = e.object as unknown as { code?: number; message?: string }
              o.onEvent(`watching ${kind}s: ${status.message ?? `error ${status.code}`}; listing them again`)
              return
            }
            resourceVersion = e.object.metadata.resourceVersion ?? resourceVersion
            if (e.type === 'BOOKMARK') return
            if (e.type === 'DELETED') into.delete(e.object.metadata.name)
            else into.set(e.object.metadata.name, e.object)
            failures = 0
            evaluate()
          },
          inner.signal,
          resourceVersion,
        )
      } catch (error) {
        // A dropped watch is normal over a long run; ten failures in a row are not.
        if (++failures >= 10) throw error
        o.onEvent(
          `watching ${kind}s failed (${(error as Error).message}); resuming${resourceVersion === undefined ? '' : ` from resourceVersion ${resourceVersion}`}`,
        )
      }
      if (!inner.signal.aborted)
        await sleep(Math.min(5000, 250 * 2 ** failures), undefined, { signal: inner.signal }).catch(
          () => undefined,
        )
    }
  }

  // Pending limits need a clock even when nothing changes.
  const ticker = setInterval(evaluate, 1000)
  try {
    const watchers = Promise.all([follow('Pod', pods), follow('Job', jobs)]).then((): RunEnd => ({
      kind: 'aborted',
    }))
    return await Promise.race([ended, watchers])
  } finally {
    clearInterval(ticker)
    inner.abort()
    o.signal.removeEventListener('abort', abort)
  }
}
