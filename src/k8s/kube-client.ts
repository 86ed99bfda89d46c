import type { Duplex } from 'node:stream'
import { Agent, request, type Dispatcher } from 'undici'
import { stringify } from 'yaml'
import { KubeError } from '../shared/errors.js'
import type { KubeAccess } from './kubeconfig.js'
import { openPortForward } from './port-forward.js'

/**
 * The few Kubernetes REST calls a load-test run needs, over undici with the kubeconfig's credentials
 * (@kubernetes/client-node 2.x needs Node ≥ 22.19; actions also run on Node 20): server-side apply, list,
 * watch, followed pod logs, the service proxy, port-forward and delete. A 401 re-reads the kubeconfig and retries once, so
 * credentials that rotate during a long wait keep working.
 */
export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: {
    name: string
    namespace?: string
    labels?: Record<string, string>
    uid?: string
    ownerReferences?: Array<{
      apiVersion: string
      kind: string
      name: string
      uid: string
      blockOwnerDeletion?: boolean
    }>
    resourceVersion?: string
    deletionTimestamp?: string
  }
  spec?: Record<string, unknown>
  status?: Record<string, unknown>
  [key: string]: unknown
}

export type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR' | 'BOOKMARK'; object: KubeObject }

/** kind → the REST path segment and API group path of the resources a run is made of. */
const PATHS: Record<string, { group: string; plural: string }> = {
  Job: { group: 'apis/batch/v1', plural: 'jobs' },
  Pod: { group: 'api/v1', plural: 'pods' },
  Service: { group: 'api/v1', plural: 'services' },
  ConfigMap: { group: 'api/v1', plural: 'configmaps' },
  Secret: { group: 'api/v1', plural: 'secrets' },
  ServiceAccount: { group: 'api/v1', plural: 'serviceaccounts' },
  NetworkPolicy: { group: 'apis/networking.k8s.io/v1', plural: 'networkpolicies' },
}

export const FIELD_MANAGER = 'horde'

export function resourcePath(kind: string, namespace: string, name?: string): string {
  const p = PATHS[kind]
  if (p === undefined)
    throw new KubeError(
      'HORDE_ERR_K8S_KIND',
      `a rendered run contains a ${kind}, which Horde does not apply (known: ${Object.keys(PATHS).join(', ')}). Remove it from the overlay.`,
    )
  return `/${p.group}/namespaces/${encodeURIComponent(namespace)}/${p.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`
}

export interface KubeClient {
  readonly namespace: string
  /** One JSON call; a Status error becomes a KubeError with the API server's message. */
  call<T = KubeObject>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>
  apply(obj: KubeObject, namespace: string): Promise<KubeObject>
  list(kind: string, namespace: string, labelSelector: string): Promise<KubeObject[]>
  /**
   * Streams watch events until the server ends the watch (timeoutSeconds) or `signal` aborts; from
   * `resourceVersion` when given (events after it), else every current object ADDED first.
   */
  watch(
    kind: string,
    namespace: string,
    labelSelector: string,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
    resourceVersion?: string,
  ): Promise<void>
  /**
   * Follows a container's log; each complete line goes to onLine. Ends when the container ends (or the
   * connection drops). `timestamps` prefixes each line with the kubelet's RFC 3339 time and a space;
   * `sinceTime` (RFC 3339, whole seconds) starts there instead of at the beginning.
   */
  followLogs(
    namespace: string,
    pod: string,
    container: string,
    onLine: (line: string) => void,
    signal: AbortSignal,
    options?: { timestamps?: boolean; sinceTime?: string },
  ): Promise<void>
  /**
   * A request to a Service's port through the API server's service proxy. The API server keeps the caller's
   * Authorization for itself: a token for the pod goes in another header (`headers`).
   */
  proxy(
    namespace: string,
    service: string,
    port: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    timeoutMs?: number,
  ): Promise<{ status: number; text: string }>
  /** One TCP connection to a pod's port through pods/{name}/portforward (see port-forward.ts). */
  portForward(namespace: string, pod: string, port: number, openTimeoutMs: number): Promise<Duplex>
  /** Deletes the run's Jobs; Foreground: the Jobs disappear only after their pods are gone. */
  deleteJobs(namespace: string, labelSelector: string): Promise<void>
  close(): Promise<void>
}

export function createKubeClient(access: KubeAccess): KubeClient {
  const dispatcher: Dispatcher = new Agent({
    connect: {
      ...(access.ca === undefined ? {} : { ca: access.ca }),
      ...(access.cert === undefined ? {} : { cert: access.cert }),
      ...(access.key === undefined ? {} : { key: access.key }),
      rejectUnauthorized: !access.insecure,
    },
    // Watches and followed logs stay open for minutes with nothing to say.
    bodyTimeout: 0,
    headersTimeout: 60_000,
  })

  async function send(
    method: string,
    path: string,
    body: string | undefined,
    contentType: string | undefined,
    signal?: AbortSignal,
    extraHeaders: Record<string, string> = {},
  ): Promise<Dispatcher.ResponseData> {
    for (let attempt = 0; ; attempt++) {
      const token = await access.token()
      const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders }
      if (token !== null) headers.authorization = `Bearer ${token}`
      if (contentType !== undefined) headers['content-type'] = contentType
      let res: Dispatcher.ResponseData
      try {
        res = await request(`${access.server}${path}`, {
          method: method,
          headers,
          body,
          dispatcher,
          ...(signal === undefined ? {} : { signal }),
        })
      } catch (error) {
        if (signal?.aborted === true) throw error
        throw new KubeError(
          'HORDE_ERR_K8S_UNREACHABLE',
          `the Kubernetes API at ${access.server} did not answer ${method} ${path.split('?')[0]}: ${(error as Error).message}. Check the cluster credentials step and that the runner can reach the API server.`,
          { cause: error },
        )
      }
      if (res.statusCode === 401 && attempt === 0) {
        await res.body.dump()
        access.refresh()
        continue
      }
      return res
    }
  }

  async function failure(res: Dispatcher.ResponseData, method: string, path: string): Promise<KubeError> {
    const text = await res.body.text()
    let message = text.slice(0, 500)
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message
    } catch {
      // Not a Status object (a proxy's HTML page): keep the text.
    }
    const hint =
      res.statusCode === 401
        ? ' The cluster credentials were refused: re-run get-gke-credentials.'
        : res.statusCode === 403
          ? " The runner's identity lacks RBAC for this: grant roles/container.developer (or a Role on the namespace)."
          : ''
    return new KubeError(
      'HORDE_ERR_K8S_API',
      `${method} ${path.split('?')[0]} → HTTP ${res.statusCode}: ${message}.${hint}`,
    )
  }

  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    const res = await send(method, path, text, body === undefined ? undefined : contentType)
    if (res.statusCode >= 400) throw await failure(res, method, path)
    return (await res.body.json()) as T
  }

  async function stream(path: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
    let res: Dispatcher.ResponseData
    try {
      res = await send('GET', path, undefined, undefined, signal)
    } catch (error) {
      if (signal.aborted) return
      throw error
    }
    if (res.statusCode >= 400) throw await failure(res, 'GET', path)
    let pending = ''
    try {
      for await (const chunk of res.body) {
        pending += (chunk as Buffer).toString('utf8')
        let nl: number
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl)
          pending = pending.slice(nl + 1)
          onLine(line)
        }
      }
      if (pending !== '') onLine(pending)
    } catch (error) {
      if (!signal.aborted) throw error
    }
  }

  return {
    namespace: access.namespace,
    call,
    apply: (obj, namespace) =>
      call<KubeObject>(
        'PATCH',
        `${resourcePath(obj.kind, namespace, obj.metadata.name)}?fieldManager=${FIELD_MANAGER}&force=true`,
        stringify({ ...obj, metadata: { ...obj.metadata, namespace } }),
        'application/apply-patch+yaml',
      ),
    async list(kind, namespace, labelSelector) {
      const list = await call<{ items: KubeObject[] }>(
        'GET',
        `${resourcePath(kind, namespace)}?labelSelector=${encodeURIComponent(labelSelector)}`,
      )
      return list.items
    },
    watch: (kind, namespace, labelSelector, onEvent, signal, resourceVersion) =>
      stream(
        `${resourcePath(kind, namespace)}?watch=true&timeoutSeconds=300&allowWatchBookmarks=true&labelSelector=${encodeURIComponent(labelSelector)}${resourceVersion === undefined ? '' : `&resourceVersion=${encodeURIComponent(resourceVersion)}`}`,
        (line) => {
          if (line.trim() !== '') onEvent(JSON.parse(line) as WatchEvent)
        },
        signal,
      ),
    followLogs: (namespace, pod, container, onLine, signal, options = {}) =>
      stream(
        `${resourcePath('Pod', namespace, pod)}/log?follow=true&container=${encodeURIComponent(container)}${options.timestamps === true ? '&timestamps=true' : ''}${options.sinceTime === undefined ? '' : `&sinceTime=${encodeURIComponent(options.sinceTime)}`}`,
        onLine,
        signal,
      ),
    async proxy(namespace, service, port, path, body, headers, timeoutMs) {
      const url = `${resourcePath('Service', namespace)}/${service}:${port}/proxy${path}`
      // A proxy that cannot route to the pod may hang until its own dial timeout (30 s and more).
      const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)
      let res: Dispatcher.ResponseData
      try {
        res = await send('POST', url, JSON.stringify(body), 'application/json', signal, headers)
      } catch (error) {
        if (signal?.aborted !== true) throw error
        throw new KubeError(
          'HORDE_ERR_K8S_UNREACHABLE',
          `the API server's service proxy to ${service}:${port} did not answer within ${timeoutMs} ms`,
          { cause: error },
        )
      }
      return { status: res.statusCode, text: (await res.body.text()).slice(0, 1000) }
    },
    async portForward(namespace, pod, port, openTimeoutMs) {
      return openPortForward({
        server: access.server,
        dispatcher,
        token: await access.token(),
        namespace,
        pod,
        port,
        openTimeoutMs,
      })
    },
    async deleteJobs(namespace, labelSelector) {
      const jobs = await this.list('Job', namespace, labelSelector)
      for (const job of jobs) {
        const path = `${resourcePath('Job', namespace, job.metadata.name)}?propagationPolicy=Foreground`
        const res = await send('DELETE', path, undefined, undefined)
        if (res.statusCode >= 400 && res.statusCode !== 404) throw await failure(res, 'DELETE', path)
        await res.body.dump()
      }
    },
    close: () => dispatcher.close(),
  }
}
