import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { writeFile } from 'node:fs/promises'
import type { ImageSpec } from './fake-kube/container.js'
import { createController, type PodFault } from './fake-kube/controller.js'
import { discovery } from './fake-kube/discovery.js'
import { ApiError, RESOURCES, mergePatch, parseObject, readBody, status, validate } from './fake-kube/rest.js'
import { createStore, parseLabelSelector, type KubeObject } from './fake-kube/store.js'
import { createPortForwardServer } from './fake-kube/port-forward.js'
import { serveLogs, serveProxy, serveWatch, type StreamContext } from './fake-kube/streams.js'
import { selfSignedCert } from './fake-kube/tls.js'
import { REPO_ROOT } from './processes.js'

/**
 * A loopback Kubernetes API server for the actions' tests (no cluster runs here). It speaks the REST paths a
 * client uses for a load-test run — server-side apply and create, get, list and watch (Jobs, Pods, Services,
 * ConfigMaps, Secrets, ServiceAccounts, NetworkPolicies), pod logs with follow/timestamps/sinceTime, the
 * service proxy, pods/portforward over WebSocket (fake-kube/port-forward.ts), delete with propagationPolicy
 * — answers errors as Status objects, and runs the pods of the Jobs it is given as real local processes (see
 * fake-kube/controller.ts). Bearer-token auth like a GKE kubeconfig.
 */
export interface FakeKubeOptions {
  /** Images the fake can "pull": anything else ends in ErrImagePull. */
  images: Record<string, ImageSpec>
  /** Bearer token clients must send (default 'fake-kube-token'). */
  token?: string
  /** Working directory for containers whose workingDir does not exist here (default: the repository). */
  cwd?: string
  /** Added to every container's environment (e.g. NODE_OPTIONS for coverage); PATH is always passed. */
  env?: Record<string, string>
  /** Serve https with a throwaway certificate (kubectl sends credentials only over TLS). */
  tls?: boolean
}

export interface FakeKubeApi {
  url: string
  token: string
  /** PEM of the server's certificate when `tls` is on (trust it as the CA). */
  caCert: string | null
  /** Infrastructure failures: the first pod created whose labels match gets the fault. */
  injectFault(labels: Record<string, string>, fault: PodFault, times?: number): void
  get(resource: string, namespace: string, name: string): KubeObject | undefined
  list(resource: string, namespace: string, labelSelector?: string): KubeObject[]
  /**
   * Plays a private cluster: the service proxy cannot reach any pod — it answers 503 (`refuse`) or never
   * answers (`hang`) — while port-forward still works. null: the proxy works.
   */
  setServiceProxyUnreachable(mode: 'refuse' | 'hang' | null): void
  /**
   * Cuts every open followed log or watch as an API server restart would (the connection reset mid-stream);
   * resolves with how many were cut.
   */
  cutStreams(kind: 'logs' | 'watches'): number
  /** Compacts the change history: a watch resumed from any version seen so far gets 410 Gone. */
  compactHistory(): void
  /** Every request received, as `METHOD path?query` (the token is never recorded). */
  requests: string[]
  runningPids(): number[]
  writeKubeconfig(path: string, namespace?: string): Promise<void>
  close(): Promise<void>
}

export async function startFakeKubeApi(options: FakeKubeOptions): Promise<FakeKubeApi> {
  const token = options.token ?? 'fake-kube-token'
  const store = createStore()
  const faults: Array<{ labels: Record<string, string>; fault: PodFault; left: number }> = []
  const requests: string[] = []
  const open = new Set<ServerResponse>()
  let port = 0
  const services = (ns: string) => store.list('v1/services', ns).map((s) => s.metadata.name)

  const controller = createController({
    store,
    images: options.images,
    cwd: options.cwd ?? REPO_ROOT,
    baseEnv: () => ({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(port),
      ...options.env,
    }),
    // Cluster DNS does not exist here: a Service's name (short or qualified) in an env value or argument
    // becomes 127.0.0.1, where its pods' processes listen.
    rewriteHosts: (ns) => (value) => {
      let v = value
      for (const name of services(ns)) {
        const host = new RegExp(
          `(^|[/@=,;\\s])${name}(\\.${ns}(\\.svc(\\.cluster\\.local)?)?)?(?=$|[:/,;\\s])`,
          'g',
        )
        v = v.replace(host, '$1127.0.0.1')
      }
      return v
    },
    faultFor: (pod) => {
      const f = faults.find(
        (x) => x.left > 0 && Object.entries(x.labels).every(([k, v]) => pod.metadata.labels?.[k] === v),
      )
      if (f === undefined) return undefined
      f.left--
      return f.fault
    },
  })

  const ctx: StreamContext = {
    store,
    controller,
    open,
    logStreams: new Set(),
    watchStreams: new Set(),
    proxyUnreachable: { mode: null },
  }
  const portForwards = createPortForwardServer(store, (line) => requests.push(line))

  function created(resource: string, obj: KubeObject): KubeObject {
    const stored = store.create(resource, obj)
    if (resource === 'batch/v1/jobs') controller.jobCreated(stored)
    if (resource === 'v1/pods') setImmediate(() => controller.runPod(stored))
    return stored
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake')
    const q = url.searchParams
    requests.push(`${req.method} ${url.pathname}${url.search}`)
    if (req.headers.authorization !== `Bearer ${token}`)
      throw new ApiError(401, 'Unauthorized', 'Unauthorized')
    const doc = req.method === 'GET' ? discovery(url.pathname, `127.0.0.1:${port}`) : undefined
    if (doc !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' })
      return void res.end(JSON.stringify(doc))
    }
    const m =
      /^\/(?:api\/v1|apis\/([a-z0-9.-]+\/v1))\/namespaces\/([a-z0-9-]+)\/([a-z]+)(?:\/([^/]+))?(?:\/(.*))?$/.exec(
        url.pathname,
      )
    if (m === null)
      throw new ApiError(
        404,
        'NotFound',
        `the server could not find the requested resource (${url.pathname})`,
      )
    const [, group, ns = '', plural = '', name, sub] = m
    const resource = `${group ?? 'v1'}/${plural}`
    if (!(resource in RESOURCES))
      throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${resource})`)
    const body = await readBody(req)
    const json = (code: number, obj: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' })
      res.end(JSON.stringify(obj))
    }
    if (resource === 'v1/services' && name !== undefined && sub !== undefined && /^proxy(\/|$)/.test(sub))
      return serveProxy(
        ctx,
        req,
        res,
        ns,
        decodeURIComponent(name),
        sub.replace(/^proxy\/?/, ''),
        url.search,
        body,
      )
    if (resource === 'v1/pods' && name !== undefined && sub === 'log' && req.method === 'GET')
      return serveLogs(ctx, res, ns, name, q)
    if (sub !== undefined && sub !== 'status')
      throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${sub})`)
    const [apiVersion, kind] = RESOURCES[resource] as [string, string]
    const notFound = () =>
      new ApiError(404, 'NotFound', `${plural}${group ? `.${group.split('/')[0]}` : ''} "${name}" not found`)

    if (req.method === 'GET' && name === undefined) {
      if (q.get('watch') === 'true' || q.get('watch') === '1')
        return serveWatch(ctx, req, res, resource, ns, q)
      const labels = parseLabelSelector(q.get('labelSelector'))
      const items = store.list(resource, ns, (o) => labels(o.metadata.labels))
      return json(200, {
        apiVersion,
        kind: `${kind}List`,
        metadata: { resourceVersion: store.resourceVersion() },
        items,
      })
    }
    if (req.method === 'GET')
      return json(
        200,
        store.get(resource, ns, name ?? '') ??
          (() => {
            throw notFound()
          })(),
      )
    if (req.method === 'POST' && name === undefined) {
      const obj = validate(resource, ns, parseObject(body, req.headers['content-type'] ?? ''))
      if (store.get(resource, ns, obj.metadata.name) !== undefined)
        throw new ApiError(
          409,
          'AlreadyExists',
          `${plural}${group ? `.${group.split('/')[0]}` : ''} "${obj.metadata.name}" already exists`,
        )
      return json(201, created(resource, obj))
    }
    if (req.method === 'PATCH' && name !== undefined) {
      const type = req.headers['content-type'] ?? ''
      const existing = store.get(resource, ns, name)
      if (type.startsWith('application/apply-patch')) {
        if (q.get('fieldManager') === null)
          throw new ApiError(400, 'BadRequest', 'fieldManager is required for apply requests')
        const obj = validate(resource, ns, parseObject(body, 'yaml'), name)
        if (existing === undefined) return json(201, created(resource, obj))
        if (
          kind === 'Job' &&
          JSON.stringify((obj.spec as { template?: unknown }).template) !==
            JSON.stringify((existing.spec as { template?: unknown }).template)
        )
          throw new ApiError(
            422,
            'Invalid',
            `Job.batch "${name}" is invalid: spec.template: Invalid value: field is immutable`,
          )
        const merged = mergePatch(existing, {
          metadata: {
            labels: obj.metadata.labels ?? null,
            annotations: obj.metadata.annotations ?? null,
            ownerReferences: obj.metadata.ownerReferences ?? null,
          },
          spec: obj.spec,
        }) as KubeObject
        return json(200, store.update(resource, merged))
      }
      if (existing === undefined) throw notFound()
      if (!/merge-patch\+json|strategic-merge-patch\+json/.test(type))
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        )
      const patched = mergePatch(existing, parseObject(body, 'json')) as KubeObject
      const updated = store.update(resource, patched)
      if (
        kind === 'Job' &&
        (existing.spec as { suspend?: boolean }).suspend === true &&
        (updated.spec as { suspend?: boolean }).suspend !== true
      )
        controller.jobCreated(updated)
      return json(200, updated)
    }
    if (req.method === 'DELETE') {
      let options: { propagationPolicy?: string; gracePeriodSeconds?: number } = {}
      if (body.trim() !== '') options = parseObject(body, 'json') as typeof options
      const policy =
        q.get('propagationPolicy') ?? options.propagationPolicy ?? (kind === 'Job' ? 'Orphan' : 'Background')
      const grace = q.get('gracePeriodSeconds') ?? options.gracePeriodSeconds
      const names =
        name !== undefined
          ? [name]
          : store
              .list(resource, ns, (o) => parseLabelSelector(q.get('labelSelector'))(o.metadata.labels))
              .map((o) => o.metadata.name)
      if (name !== undefined && store.get(resource, ns, name) === undefined) throw notFound()
      const deleted: KubeObject[] = []
      for (const n of names) {
        if (kind === 'Job') {
          const r = await controller.deleteJob(ns, n, policy)
          if (r) deleted.push(r)
        } else if (kind === 'Pod') {
          const pod = store.get(resource, ns, n)
          void controller.deletePod(ns, n, grace === undefined ? undefined : Number(grace))
          if (pod) deleted.push(pod)
        } else {
          const r = store.remove(resource, ns, n)
          if (r) deleted.push(r)
        }
      }
      if (name !== undefined) return json(200, deleted[0])
      return json(200, { apiVersion, kind: `${kind}List`, metadata: {}, items: deleted })
    }
    throw new ApiError(
      405,
      'MethodNotAllowed',
      `the server does not allow this method on the requested resource`,
    )
  }

  const respond = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof ApiError ? error : new ApiError(500, 'InternalError', String(error))
      if (res.headersSent) return void res.end()
      res.writeHead(e.code, { 'content-type': 'application/json' })
      res.end(JSON.stringify(status(e.code, e.reason, e.message)))
    })
  }
  const tls = options.tls === true ? selfSignedCert() : null
  const server = tls === null ? createServer(respond) : createTlsServer(tls, respond)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    portForwards.handleUpgrade(req, socket, head, req.headers.authorization === `Bearer ${token}`),
  )
  port = (server.address() as AddressInfo).port
  const url = `${tls === null ? 'http' : 'https'}://127.0.0.1:${port}`

  return {
    url,
    token,
    caCert: tls?.cert ?? null,
    requests,
    injectFault: (labels, fault, times = 1) => void faults.push({ labels, fault, left: times }),
    get: (resource, namespace, name) => store.get(resource, namespace, name),
    list: (resource, namespace, labelSelector) =>
      store.list(resource, namespace, (o) => parseLabelSelector(labelSelector ?? null)(o.metadata.labels)),
    runningPids: () => controller.runningPids(),
    setServiceProxyUnreachable: (mode) => void (ctx.proxyUnreachable.mode = mode),
    compactHistory: () => store.compact(),
    cutStreams(kind) {
      const streams = [...(kind === 'logs' ? ctx.logStreams : ctx.watchStreams)]
      for (const res of streams) res.socket?.destroy()
      return streams.length
    },
    writeKubeconfig: (path, namespace = 'default') =>
      writeFile(
        path,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            {
              name: 'fake',
              cluster: {
                server: url,
                ...(tls === null
                  ? {}
                  : { 'certificate-authority-data': Buffer.from(tls.cert).toString('base64') }),
              },
            },
          ],
          users: [{ name: 'fake', user: { token } }],
          contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace } }],
          'current-context': 'fake',
        }),
      ),
    async close() {
      portForwards.close()
      await controller.close()
      for (const res of open) res.end()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
