import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import type { ImageSpec } from './fake-kube/container.js'
import { createController, type PodFault } from './fake-kube/controller.js'
import { createStore, parseLabelSelector, type KubeObject, type WatchEventType } from './fake-kube/store.js'
import { REPO_ROOT } from './processes.js'

/**
 * A loopback Kubernetes API server for the actions' tests (no cluster runs here). It speaks the REST paths a
 * client uses for a load-test run — server-side apply and create, get, list and watch (Jobs, Pods, Services,
 * ConfigMaps, Secrets, ServiceAccounts, NetworkPolicies), pod logs with follow, the service proxy, delete
 * with propagationPolicy — answers errors as Status objects, and runs the pods of the Jobs it is given as
 * real local processes (see fake-kube/controller.ts). Bearer-token auth like a GKE kubeconfig.
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
}

export interface FakeKubeApi {
  url: string
  token: string
  /** Infrastructure failures: the first pod created whose labels match gets the fault. */
  injectFault(labels: Record<string, string>, fault: PodFault, times?: number): void
  get(resource: string, namespace: string, name: string): KubeObject | undefined
  list(resource: string, namespace: string, labelSelector?: string): KubeObject[]
  /** Every request received, as `METHOD path?query` (the token is never recorded). */
  requests: string[]
  runningPids(): number[]
  writeKubeconfig(path: string, namespace?: string): Promise<void>
  close(): Promise<void>
}

// resource path segment → [apiVersion, kind, namespaced]
const RESOURCES: Record<string, [string, string]> = {
  'v1/pods': ['v1', 'Pod'],
  'v1/services': ['v1', 'Service'],
  'v1/configmaps': ['v1', 'ConfigMap'],
  'v1/secrets': ['v1', 'Secret'],
  'v1/serviceaccounts': ['v1', 'ServiceAccount'],
  'batch/v1/jobs': ['batch/v1', 'Job'],
  'networking.k8s.io/v1/networkpolicies': ['networking.k8s.io/v1', 'NetworkPolicy'],
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message)
  }
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
})

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
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

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }

  function parseObject(text: string, contentType: string): KubeObject {
    try {
      return (contentType.includes('yaml') ? parseYaml(text) : JSON.parse(text)) as KubeObject
    } catch (error) {
      throw new ApiError(400, 'BadRequest', `the body could not be decoded: ${(error as Error).message}`)
    }
  }

  function validate(resource: string, ns: string, obj: KubeObject, name?: string): KubeObject {
    const [apiVersion, kind] = RESOURCES[resource] ?? ['', '']
    if (typeof obj !== 'object' || obj === null || typeof obj.metadata !== 'object')
      throw new ApiError(400, 'BadRequest', 'Object has no metadata')
    if (obj.kind !== kind || obj.apiVersion !== apiVersion)
      throw new ApiError(
        400,
        'BadRequest',
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion}) or kind ${obj.kind} is not ${kind}`,
      )
    if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== ns)
      throw new ApiError(
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      )
    if (obj.metadata.name === undefined && typeof obj.metadata.generateName === 'string')
      obj.metadata.name = `${obj.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`
    if (name !== undefined && obj.metadata.name !== name)
      throw new ApiError(
        400,
        'BadRequest',
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      )
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(obj.metadata.name ?? ''))
      throw new ApiError(
        422,
        'Invalid',
        `${kind} "${obj.metadata.name}" is invalid: metadata.name: Invalid value: "${obj.metadata.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
      )
    if (kind === 'Job') {
      const spec = obj.spec as
        { template?: { spec?: { restartPolicy?: string; containers?: unknown[] } } } | undefined
      const rp = spec?.template?.spec?.restartPolicy
      if (rp !== 'Never' && rp !== 'OnFailure')
        throw new ApiError(
          422,
          'Invalid',
          `Job.batch "${obj.metadata.name}" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`,
        )
      if (!Array.isArray(spec?.template?.spec?.containers) || spec.template.spec.containers.length === 0)
        throw new ApiError(
          422,
          'Invalid',
          `Job.batch "${obj.metadata.name}" is invalid: spec.template.spec.containers: Required value`,
        )
    }
    return { ...obj, metadata: { ...obj.metadata, namespace: ns } }
  }

  function created(resource: string, obj: KubeObject): KubeObject {
    const stored = store.create(resource, obj)
    if (resource === 'batch/v1/jobs') controller.jobCreated(stored)
    if (resource === 'v1/pods') setImmediate(() => controller.runPod(stored))
    return stored
  }

  function serveWatch(
    req: IncomingMessage,
    res: ServerResponse,
    resource: string,
    ns: string | undefined,
    q: URLSearchParams,
  ): void {
    const labels = parseLabelSelector(q.get('labelSelector'))
    const field = q.get('fieldSelector')
    const byName = field === null ? null : (/^metadata\.name=(.+)$/.exec(field)?.[1] ?? null)
    const matches = (o: KubeObject) =>
      labels(o.metadata.labels) && (byName === null || o.metadata.name === byName)
    const fromRv = q.get('resourceVersion')
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
    // A client waits for the headers before it does anything else (often: create what it watches).
    res.flushHeaders()
    open.add(res)
    const send = (type: WatchEventType, object: KubeObject) =>
      res.write(`${JSON.stringify({ type, object })}\n`)
    if (fromRv === null || fromRv === '' || fromRv === '0') {
      for (const o of store.list(resource, ns, matches)) send('ADDED', o)
    } else {
      const changes = store.changesSince(Number(fromRv))
      if (changes === null) {
        send(
          'ERROR' as WatchEventType,
          status(410, 'Expired', `too old resource version: ${fromRv}`) as unknown as KubeObject,
        )
        res.end()
        return
      }
      for (const c of changes)
        if (
          c.resource === resource &&
          (ns === undefined || c.object.metadata.namespace === ns) &&
          matches(c.object)
        )
          send(c.type, c.object)
    }
    const stop = store.watch({ resource, namespace: ns, matches, send })
    const timeoutS = Number(q.get('timeoutSeconds') ?? 0)
    const timer = timeoutS > 0 ? setTimeout(() => res.end(), timeoutS * 1000) : undefined
    const end = () => {
      stop()
      clearTimeout(timer)
      open.delete(res)
    }
    res.on('close', end)
    req.on('close', end)
  }

  function serveLogs(res: ServerResponse, ns: string, name: string, q: URLSearchParams): void {
    const pod = store.get('v1/pods', ns, name)
    if (pod === undefined) throw new ApiError(404, 'NotFound', `pods "${name}" not found`)
    const run = controller.logsOf(ns, name, q.get('container') ?? undefined)
    if (run === undefined)
      throw new ApiError(
        400,
        'BadRequest',
        `container "${((pod.spec?.containers ?? []) as Array<{ name: string }>)[0]?.name}" in pod "${name}" is waiting to start: ${String(((pod.status?.containerStatuses ?? []) as Array<{ state?: { waiting?: { reason?: string } } }>)[0]?.state?.waiting?.reason ?? 'ContainerCreating')}`,
      )
    let text = run.logs()
    const tail = q.get('tailLines')
    if (tail !== null)
      text = text
        .split('\n')
        .slice(-Number(tail) - 1)
        .join('\n')
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write(text)
    if (q.get('follow') !== 'true') return void res.end()
    open.add(res)
    const off = run.onLog((chunk) => res.write(chunk))
    void run.exited.then(() => setImmediate(() => res.end()))
    res.on('close', () => {
      off()
      open.delete(res)
    })
  }

  function serveProxy(
    req: IncomingMessage,
    res: ServerResponse,
    ns: string,
    target: string,
    rest: string,
    search: string,
    body: string,
  ): void {
    const m = /^(?:(https?):)?([a-z0-9-]+)(?::([A-Za-z0-9-]+))?$/.exec(target)
    const svc = m === null ? undefined : store.get('v1/services', ns, m[2] ?? '')
    if (svc === undefined) throw new ApiError(404, 'NotFound', `services "${m?.[2] ?? target}" not found`)
    const ports = (svc.spec?.ports ?? []) as Array<{
      name?: string
      port: number
      targetPort?: number | string
    }>
    const port =
      m?.[3] === undefined ? ports[0] : ports.find((p) => p.name === m[3] || String(p.port) === m[3])
    if (port === undefined)
      throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${target}"`)
    const selector = (svc.spec?.selector ?? {}) as Record<string, string>
    const ready = store.list(
      'v1/pods',
      ns,
      (p) =>
        Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v) &&
        p.status?.phase === 'Running' &&
        p.metadata.deletionTimestamp === undefined,
    )
    if (ready.length === 0)
      throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${m?.[2]}"`)
    let targetPort = port.targetPort ?? port.port
    if (typeof targetPort === 'string') {
      const named = ready
        .flatMap(
          (p) =>
            (p.spec?.containers ?? []) as Array<{ ports?: Array<{ name?: string; containerPort: number }> }>,
        )
        .flatMap((c) => c.ports ?? [])
        .find((p) => p.name === targetPort)
      if (named === undefined)
        throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${m?.[2]}"`)
      targetPort = named.containerPort
    }
    // The API server authenticates the caller with Authorization and does not pass it on to the pod.
    const headers = { ...req.headers }
    delete headers.authorization
    delete headers.host
    const upstream = httpRequest(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: `/${rest}${search}`, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      },
    )
    upstream.on('error', (error) => {
      if (res.headersSent) return void res.destroy()
      res.writeHead(503, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify(status(503, 'ServiceUnavailable', `error trying to reach service: ${error.message}`)),
      )
    })
    upstream.end(body)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake')
    const q = url.searchParams
    requests.push(`${req.method} ${url.pathname}${url.search}`)
    if (req.headers.authorization !== `Bearer ${token}`)
      throw new ApiError(401, 'Unauthorized', 'Unauthorized')
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
        req,
        res,
        ns,
        decodeURIComponent(name),
        sub.replace(/^proxy\/?/, ''),
        url.search,
        body,
      )
    if (resource === 'v1/pods' && name !== undefined && sub === 'log' && req.method === 'GET')
      return serveLogs(res, ns, name, q)
    if (sub !== undefined && sub !== 'status')
      throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${sub})`)
    const [apiVersion, kind] = RESOURCES[resource] as [string, string]
    const notFound = () =>
      new ApiError(404, 'NotFound', `${plural}${group ? `.${group.split('/')[0]}` : ''} "${name}" not found`)

    if (req.method === 'GET' && name === undefined) {
      if (q.get('watch') === 'true' || q.get('watch') === '1') return serveWatch(req, res, resource, ns, q)
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
          metadata: { labels: obj.metadata.labels ?? null, annotations: obj.metadata.annotations ?? null },
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

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof ApiError ? error : new ApiError(500, 'InternalError', String(error))
      if (res.headersSent) return void res.end()
      res.writeHead(e.code, { 'content-type': 'application/json' })
      res.end(JSON.stringify(status(e.code, e.reason, e.message)))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}`

  return {
    url,
    token,
    requests,
    injectFault: (labels, fault, times = 1) => void faults.push({ labels, fault, left: times }),
    get: (resource, namespace, name) => store.get(resource, namespace, name),
    list: (resource, namespace, labelSelector) =>
      store.list(resource, namespace, (o) => parseLabelSelector(labelSelector ?? null)(o.metadata.labels)),
    runningPids: () => controller.runningPids(),
    writeKubeconfig: (path, namespace = 'default') =>
      writeFile(
        path,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'fake', cluster: { server: url } }],
          users: [{ name: 'fake', user: { token } }],
          contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace } }],
          'current-context': 'fake',
        }),
      ),
    async close() {
      await controller.close()
      for (const res of open) res.end()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
