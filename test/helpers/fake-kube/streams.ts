import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Controller } from './controller.js'
import { ApiError, status } from './rest.js'
import type { LogLine } from './container.js'
import { parseLabelSelector, type KubeObject, type Store, type WatchEventType } from './store.js'

/** The long-lived answers of the fake API server: watches, followed pod logs, the service proxy. */
export interface StreamContext {
  store: Store
  controller: Controller
  /** Responses still open, ended when the server closes. */
  open: Set<ServerResponse>
  /** The open followed logs and watches, which a test can cut as a restarting API server would. */
  logStreams: Set<ServerResponse>
  watchStreams: Set<ServerResponse>
  /**
   * Plays a private cluster's API server, which has no route to pod IPs: every service proxy fails at once
   * (`refuse`) or hangs (`hang`).
   */
  proxyUnreachable: { mode: 'refuse' | 'hang' | null }
}

export function serveWatch(
  ctx: StreamContext,
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
  ctx.open.add(res)
  const send = (type: WatchEventType, object: KubeObject) =>
    res.write(`${JSON.stringify({ type, object })}\n`)
  if (fromRv === null || fromRv === '' || fromRv === '0') {
    for (const o of ctx.store.list(resource, ns, matches)) send('ADDED', o)
  } else {
    const changes = ctx.store.changesSince(Number(fromRv))
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
  const stop = ctx.store.watch({ resource, namespace: ns, matches, send })
  const timeoutS = Number(q.get('timeoutSeconds') ?? 0)
  const timer = timeoutS > 0 ? setTimeout(() => res.end(), timeoutS * 1000) : undefined
  ctx.watchStreams.add(res)
  const end = () => {
    stop()
    clearTimeout(timer)
    ctx.open.delete(res)
    ctx.watchStreams.delete(res)
  }
  res.on('close', end)
  req.on('close', end)
}

export function serveLogs(
  ctx: StreamContext,
  res: ServerResponse,
  ns: string,
  name: string,
  q: URLSearchParams,
): void {
  const pod = ctx.store.get('v1/pods', ns, name)
  if (pod === undefined) throw new ApiError(404, 'NotFound', `pods "${name}" not found`)
  const run = ctx.controller.logsOf(ns, name, q.get('container') ?? undefined)
  if (run === undefined)
    throw new ApiError(
      400,
      'BadRequest',
      `container "${((pod.spec?.containers ?? []) as Array<{ name: string }>)[0]?.name}" in pod "${name}" is waiting to start: ${String(((pod.status?.containerStatuses ?? []) as Array<{ state?: { waiting?: { reason?: string } } }>)[0]?.state?.waiting?.reason ?? 'ContainerCreating')}`,
    )
  // As the kubelet: sinceTime (RFC 3339) or sinceSeconds, then tailLines, then timestamps on each line.
  const sinceTime = q.get('sinceTime')
  const sinceSeconds = q.get('sinceSeconds')
  const since =
    sinceTime !== null
      ? Date.parse(sinceTime)
      : sinceSeconds !== null
        ? Date.now() - Number(sinceSeconds) * 1000
        : Number.NEGATIVE_INFINITY
  if (Number.isNaN(since)) throw new ApiError(400, 'BadRequest', `invalid sinceTime: ${sinceTime}`)
  const stamped = q.get('timestamps') === 'true'
  const format = (l: LogLine) => `${stamped ? `${l.ts} ` : ''}${l.text}\n`
  let lines = run.lines().filter((l) => Date.parse(l.ts) >= since)
  const tail = q.get('tailLines')
  if (tail !== null) lines = lines.slice(-Number(tail))
  res.writeHead(200, { 'content-type': 'text/plain' })
  res.write(lines.map(format).join(''))
  if (q.get('follow') !== 'true' || !run.running()) return void res.end()
  ctx.open.add(res)
  ctx.logStreams.add(res)
  const off = run.onLine((l) => res.write(format(l)))
  void run.exited.then(() => setImmediate(() => res.end()))
  res.on('close', () => {
    off()
    ctx.open.delete(res)
    ctx.logStreams.delete(res)
  })
}

export function serveProxy(
  ctx: StreamContext,
  req: IncomingMessage,
  res: ServerResponse,
  ns: string,
  target: string,
  rest: string,
  search: string,
  body: string,
): void {
  const m = /^(?:(https?):)?([a-z0-9-]+)(?::([A-Za-z0-9-]+))?$/.exec(target)
  const svc = m === null ? undefined : ctx.store.get('v1/services', ns, m[2] ?? '')
  if (svc === undefined) throw new ApiError(404, 'NotFound', `services "${m?.[2] ?? target}" not found`)
  if (ctx.proxyUnreachable.mode === 'refuse')
    // What GKE answers when its control plane cannot dial the pod (private cluster, no firewall rule).
    throw new ApiError(
      503,
      'ServiceUnavailable',
      `error trying to reach service: dial tcp 10.8.0.17:8089: connect: connection refused`,
    )
  if (ctx.proxyUnreachable.mode === 'hang') {
    // A dial that times out only after the API server's own 30 s: the client must not wait that long.
    ctx.open.add(res)
    res.on('close', () => ctx.open.delete(res))
    return
  }
  const ports = (svc.spec?.ports ?? []) as Array<{
    name?: string
    port: number
    targetPort?: number | string
  }>
  const port = m?.[3] === undefined ? ports[0] : ports.find((p) => p.name === m[3] || String(p.port) === m[3])
  if (port === undefined)
    throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${target}"`)
  const selector = (svc.spec?.selector ?? {}) as Record<string, string>
  const ready = ctx.store.list(
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
