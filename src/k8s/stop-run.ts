import { setTimeout as sleep } from 'node:timers/promises'
import type { KubeClient } from './kube-client.js'
import { terminatedState } from './pod-health.js'
import { stopThroughPortForward } from './stop-port-forward.js'

/**
 * Stopping a run on the cluster without losing its report: ask the master to stop gracefully through the API
 * server's service proxy (the control API token goes in X-Horde-Token, since the API server keeps the
 * caller's Authorization for itself) or, where that proxy cannot reach the pod, a port-forward; wait a
 * bounded time for the master's container to end (it stores the result and report as `stopped` first), then
 * delete the run's Jobs in the foreground so no worker pod outlives the call.
 */
export const runSelector = (runId: string, role?: 'master' | 'worker'): string =>
  `horde.dev/run-id=${runId}${role === undefined ? '' : `,horde.dev/role=${role}`}`

/** A service-proxy answer that means "the proxy could not reach the pod", not the master's own answer. */
const PROXY_FAILED = new Set([404, 500, 502, 503, 504])
const PROXY_TIMEOUT_MS = 3000

export async function requestStop(
  client: KubeClient,
  namespace: string,
  runId: string,
  token: string | null,
  reason: string,
): Promise<{ accepted: boolean; detail: string }> {
  const [service] = await client.list('Service', namespace, runSelector(runId, 'master'))
  if (service === undefined) return { accepted: false, detail: 'no master Service (the run already ended?)' }
  const ports = (service.spec?.ports ?? []) as Array<{
    name?: string
    port: number
    targetPort?: number | string
  }>
  const port = ports.find((p) => p.name === 'control-api' || p.name === 'api')
  if (port === undefined)
    return {
      accepted: false,
      detail: `the master Service ${service.metadata.name} has no port named control-api`,
    }
  let proxyFailure: string
  try {
    const res = await client.proxy(
      namespace,
      service.metadata.name,
      port.name ?? String(port.port),
      '/stop',
      { reason },
      token === null ? {} : { 'x-horde-token': token },
      PROXY_TIMEOUT_MS,
    )
    if (!PROXY_FAILED.has(res.status)) return answered(res.status, res.text)
    proxyFailure = `HTTP ${res.status}: ${res.text.slice(0, 200)}`
  } catch (error) {
    proxyFailure = (error as Error).message
  }
  // Private clusters: the API server has no route to pod IPs, but the kubelet's port-forward still works.
  try {
    const masters = await client.list('Pod', namespace, runSelector(runId, 'master'))
    const res = await stopThroughPortForward(client, namespace, masters, port, token, reason)
    const { accepted, detail } = answered(res.status, res.text)
    return {
      accepted,
      detail: `${detail} (through a port-forward to pod ${res.pod}; the service proxy failed: ${proxyFailure})`,
    }
  } catch (error) {
    return {
      accepted: false,
      detail: `neither the service proxy (${proxyFailure}) nor a port-forward (${(error as Error).message}) reached the master`,
    }
  }
}

const answered = (status: number, text: string) => ({
  accepted: status === 202,
  detail: `the master answered HTTP ${status}${status === 202 ? '' : `: ${text.slice(0, 300)}`}`,
})

export interface MasterEnd {
  exitCode: number
  message: string
}

/** Polls the master pod until its container has terminated, at most `timeoutMs`; null when it has not. */
export async function waitForMasterEnd(
  client: KubeClient,
  namespace: string,
  runId: string,
  timeoutMs: number,
): Promise<MasterEnd | null> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const pods = await client.list('Pod', namespace, runSelector(runId, 'master'))
    for (const pod of pods) {
      const t = terminatedState(pod, 'master')
      if (t !== undefined) return { exitCode: t.exitCode ?? -1, message: t.message ?? '' }
    }
    if (pods.length === 0 || Date.now() >= until) return null
    await sleep(Math.min(500, Math.max(0, until - Date.now())))
  }
}

/** Deletes the run's Jobs (Foreground) and waits, bounded, until none is left. True when they are gone. */
export async function deleteRunJobs(
  client: KubeClient,
  namespace: string,
  runId: string,
  waitMs: number,
): Promise<boolean> {
  await client.deleteJobs(namespace, runSelector(runId))
  const until = Date.now() + waitMs
  for (;;) {
    if ((await client.list('Job', namespace, runSelector(runId))).length === 0) return true
    if (Date.now() >= until) return false
    await sleep(250)
  }
}
