import { setTimeout as sleep } from 'node:timers/promises'
import type { KubeClient, KubeObject } from '../../src/k8s/kube-client.js'
import { followLog } from '../../src/k8s/log-follow.js'
import { terminatedState } from '../../src/k8s/pod-health.js'
import { watchRun } from '../../src/k8s/run-watch.js'
import { deleteRunJobs, requestStop, runSelector, waitForMasterEnd } from '../../src/k8s/stop-run.js'
import { infrastructureOutcome, outcomeFromMaster, type Outcome } from './outcome.js'

/**
 * One run on the cluster, from rendered YAML to its outcome: apply every object (server-side apply, so a
 * re-run of the same step is idempotent), follow the run until the master ends or an infrastructure failure
 * shows, stream the master's log lines, and leave nothing running. A cancel (the signal) stops the master
 * gracefully first, then deletes the Jobs.
 */
export interface ClusterRunOptions {
  client: KubeClient
  namespace: string
  runId: string
  apiToken: string | null
  pendingLimitMs: number
  /** How long a cancel waits for the master to store its result before deleting the Jobs. */
  cancelWaitMs: number
  log: (line: string) => void
  warn: (line: string) => void
  cancel: AbortSignal
}

export async function applyRun(
  client: KubeClient,
  objects: KubeObject[],
  namespace: string,
  log: (l: string) => void,
): Promise<void> {
  let master: KubeObject | undefined
  for (const obj of objects) {
    const applied = await client.apply(obj, namespace)
    if (obj.kind === 'Job' && obj.metadata.labels?.['horde.dev/role'] === 'master') master = applied
    log(`applied ${obj.kind} ${namespace}/${obj.metadata.name}`)
  }
  // The run's Service, ConfigMap, ServiceAccount and NetworkPolicies belong to its master Job: when the Job's
  // TTL removes it, the garbage collector removes them too, and nothing of the run piles up in the namespace.
  const uid = master?.metadata.uid
  if (master === undefined || uid === undefined) return
  const owner = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    name: master.metadata.name,
    uid,
    blockOwnerDeletion: false,
  }
  for (const obj of objects.filter((o) => o.kind !== 'Job'))
    await client.apply({ ...obj, metadata: { ...obj.metadata, ownerReferences: [owner] } }, namespace)
}

/** Stop gracefully, wait (bounded) for the master's verdict, delete the Jobs. Null outcome: the master never told. */
export async function stopRun(
  o: ClusterRunOptions,
  reason: string,
  waitMs: number,
): Promise<{ outcome: Outcome | null; jobsGone: boolean }> {
  try {
    const stop = await requestStop(o.client, o.namespace, o.runId, o.apiToken, reason)
    ;(stop.accepted ? o.log : o.warn)(`asked the master of run ${o.runId} to stop: ${stop.detail}`)
  } catch (error) {
    o.warn(
      `could not ask the master to stop (${(error as Error).message}); deleting the Jobs, whose SIGTERM stops it too`,
    )
  }
  const end = await waitForMasterEnd(o.client, o.namespace, o.runId, waitMs).catch(() => null)
  const jobsGone = await deleteRunJobs(o.client, o.namespace, o.runId, 3000).catch((error: unknown) => {
    o.warn(`deleting the Jobs of run ${o.runId} failed: ${(error as Error).message}`)
    return false
  })
  o.log(jobsGone ? `run ${o.runId}: Jobs deleted` : `run ${o.runId}: Jobs deletion under way (foreground)`)
  return { outcome: end === null ? null : outcomeFromMaster(end.exitCode, end.message), jobsGone }
}

export async function followRun(
  o: ClusterRunOptions,
): Promise<{ outcome: Outcome; cancelled: boolean; jobsGone: boolean }> {
  const logs = new AbortController()
  let streaming: Promise<void> = Promise.resolve()
  const end = await watchRun({
    client: o.client,
    namespace: o.namespace,
    runId: o.runId,
    pendingLimitMs: o.pendingLimitMs,
    onEvent: o.log,
    onMasterRunning: (pod) => {
      streaming = followLog({
        client: o.client,
        namespace: o.namespace,
        pod,
        container: 'master',
        onLine: o.log,
        warn: o.warn,
        containerEnded: () => masterEnded(o, pod),
        signal: logs.signal,
      })
    },
    signal: o.cancel,
  })
  if (end.kind === 'aborted') {
    const { outcome, jobsGone } = await stopRun(o, 'the workflow run was cancelled', o.cancelWaitMs)
    logs.abort()
    return {
      outcome: {
        ...(outcome ?? infrastructureOutcome('')),
        verdict: 'stopped',
        exitCode: 105,
        reasons:
          outcome?.verdict === 'stopped'
            ? outcome.reasons
            : ['the workflow run was cancelled; the load was stopped'],
      },
      cancelled: true,
      jobsGone,
    }
  }
  if (end.kind === 'infrastructure') {
    o.warn(`run ${o.runId} is invalid: ${end.reason}`)
    const { jobsGone } = await stopRun(o, `infrastructure failure: ${end.reason.slice(0, 400)}`, 15_000)
    logs.abort()
    return { outcome: infrastructureOutcome(end.reason), cancelled: false, jobsGone }
  }
  // The master has ended: its last lines are in the stream; give it a moment to drain.
  await Promise.race([streaming, sleep(2000)])
  logs.abort()
  const outcome = outcomeFromMaster(end.exitCode, end.message)
  return { outcome, cancelled: false, jobsGone: await workersGone(o) }
}

/** Polls (≤ 3 s: the kubelet reports the exit a moment after the log ends) whether the master has ended. */
async function masterEnded(o: ClusterRunOptions, pod: string): Promise<boolean> {
  for (let i = 0; i < 12; i++) {
    const found = (await o.client.list('Pod', o.namespace, runSelector(o.runId, 'master'))).find(
      (p) => p.metadata.name === pod,
    )
    if (found === undefined || terminatedState(found, 'master') !== undefined) return true
    await sleep(250)
  }
  return false
}

/** Workers leave when the master quits them; any still running after a grace are deleted with their Jobs. */
async function workersGone(o: ClusterRunOptions): Promise<boolean> {
  const until = Date.now() + 20_000
  for (;;) {
    const running = (await o.client.list('Pod', o.namespace, runSelector(o.runId, 'worker'))).filter(
      (p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending',
    )
    if (running.length === 0) return true
    if (Date.now() >= until) {
      o.warn(`${running.length} worker pod(s) still running after the master ended; deleting the run's Jobs`)
      return deleteRunJobs(o.client, o.namespace, o.runId, 30_000)
    }
    await sleep(500)
  }
}
