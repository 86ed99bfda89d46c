import type { Client } from 'undici'
import type { IncomingHttpHeaders } from 'node:http'
import { ConfigError, describeValue } from '../../shared/errors.js'
import { parseDurationMs } from '../../shared/duration.js'
import type { Recorder } from '../stats.js'
import { ConnectionPool, type PooledHandler } from './connection-pool.js'
import { defaultConnectionCap } from './open-files-limit.js'
import type { HttpClient, HttpResponse, RequestOptions } from './http-types.js'
import type { RequestTracer, TracedRequest } from '../tracing/request-tracer.js'

export interface HttpSettings {
  /** Base URL: scenario host, overridden by --host / HORDE_HOST / the master's host. */
  baseUrl: string | null
  keepAlive: boolean
  /** Connections per origin; null = one per concurrent request. */
  connections: number | null
  timeoutMs: number
  headers: Record<string, string>
  /**
   * With `connections: null`, the most connections per origin all the same: by default the open-files limit
   * less a reserve (open-files-limit.ts). Requests beyond it wait for a free connection.
   */
  connectionCap?: number | null
  /** Called once per origin when `connectionCap` first makes a request wait (the worker warns). */
  onConnectionCap?: (origin: string, cap: number) => void
}

/** Thrown into a task when its user is being hard-stopped: not a failure, never recorded. */
export class UserAbortedError extends Error {
  constructor() {
    super('user stopped')
    this.name = 'UserAbortedError'
  }
}

/**
 * One connection pool per origin, shared by every user of the worker (a pool per origin beats a global Agent
 * by ~35 % here; see connection-pool.ts for why it is ours over undici Clients rather than undici's Pool).
 * Requests go through `dispatch` with a small handler object rather than `request()` or `fetch`: no stream
 * per response, which keeps the engine's own cost near a bare Pool loop.
 */
export class HttpTransport {
  private readonly pools = new Map<string, ConnectionPool>()
  private base: URL | null = null
  private basePath = ''
  /** undefined when there are none, so the common request passes no header object at all. */
  readonly defaultHeaders: Record<string, string> | undefined
  /** undici's per-request `reset`: true closes the connection after the response (keep-alive off). */
  readonly reset: boolean | undefined

  private readonly connectionCap: number | null
  /** Set when tracing is on (dd-trace loaded); null keeps the request path free of any tracing work. */
  tracer: RequestTracer | null = null

  constructor(readonly settings: HttpSettings) {
    this.connectionCap =
      settings.connectionCap !== undefined ? settings.connectionCap : defaultConnectionCap()
    this.defaultHeaders = Object.keys(settings.headers).length > 0 ? settings.headers : undefined
    this.reset = settings.keepAlive ? undefined : true
    this.setBaseUrl(settings.baseUrl)
  }

  /** The master may send a host with each spawn; later requests use it. */
  setBaseUrl(baseUrl: string | null): void {
    if (baseUrl === null) {
      this.base = null
      this.basePath = ''
      return
    }
    let url: URL
    try {
      url = new URL(baseUrl)
    } catch {
      throw invalidUrl(baseUrl, 'the host is not a valid URL')
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw invalidUrl(baseUrl, 'the host must be http:// or https://')
    this.base = url
    this.basePath = url.pathname.replace(/\/$/, '')
  }

  get baseUrl(): string | null {
    return this.base === null ? null : this.base.href
  }

  resolve(path: string): Target {
    if (path.startsWith('http://') || path.startsWith('https://')) {
      let url: URL
      try {
        url = new URL(path)
      } catch {
        throw invalidUrl(path, 'it is not a valid URL')
      }
      return { origin: url.origin, path: `${url.pathname}${url.search}` }
    }
    if (this.base === null) throw invalidUrl(path, 'no host is set')
    return { origin: this.base.origin, path: `${this.basePath}${path.startsWith('/') ? path : `/${path}`}` }
  }

  pool(origin: string): ConnectionPool {
    let pool = this.pools.get(origin)
    if (pool === undefined) {
      const cap = this.settings.connections === null ? this.connectionCap : null
      pool = new ConnectionPool(origin, {
        maxConnections: this.settings.connections ?? cap,
        ...(cap !== null && this.settings.onConnectionCap !== undefined
          ? { onLimit: () => this.settings.onConnectionCap?.(origin, cap) }
          : {}),
        clientOptions: {
          headersTimeout: this.settings.timeoutMs,
          bodyTimeout: this.settings.timeoutMs,
          keepAliveTimeout: 60_000,
          pipelining: 1,
        },
      })
      this.pools.set(origin, pool)
    }
    return pool
  }

  /** Lets in-flight requests finish. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()))
    this.pools.clear()
  }

  /** Aborts in-flight requests at once (hard stop). */
  async destroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy()))
    this.pools.clear()
  }
}

/** What the client needs from the user that owns it. */
export interface RequestGate {
  /** True once the user must not start or finish anything more (hard stop). */
  readonly aborted: boolean
  /**
   * Open model: how late the current iteration started against its schedule (ms). Added to each request's
   * response time for the coordinated-omission-corrected latency. 0 in the closed model.
   */
  readonly scheduleLagMs: number
  /** The user's class, for the request's trace span. */
  readonly userClass?: string
}

const EMPTY_CHUNKS: Buffer[] = []

class Response implements HttpResponse {
  status = 0
  bytes = 0
  durationMs = 0
  ok = false
  error: string | null = null
  rawHeaders: Buffer[] | null = null
  chunks: Buffer[] = EMPTY_CHUNKS
  private textCache: string | null = null
  private headersCache: IncomingHttpHeaders | null = null

  get headers(): IncomingHttpHeaders {
    this.headersCache ??= parseRawHeaders(this.rawHeaders)
    return this.headersCache
  }

  text(): string {
    if (this.textCache === null) {
      this.textCache =
        this.chunks.length === 1
          ? (this.chunks[0] as Buffer).toString('utf8')
          : Buffer.concat(this.chunks).toString('utf8')
    }
    return this.textCache
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T
  }
}

/** Parses undici's raw header list only when a task asks for headers. */
function parseRawHeaders(raw: Buffer[] | null): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {}
  if (raw === null) return headers
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = (raw[i] as Buffer).toString('latin1').toLowerCase()
    const value = (raw[i + 1] as Buffer).toString('latin1')
    const existing = headers[key]
    if (existing === undefined) headers[key] = value
    else if (Array.isArray(existing)) existing.push(value)
    else headers[key] = [existing, value]
  }
  return headers
}

/** One in-flight request: undici's legacy handler interface is its native one (no wrapper per request). */
/**
 * undici checks its headers/body timeouts on a ~0.5 s tick, which is fine for the usual '30s' but turns a
 * '100ms' timeout into up to a second. Below this, a request gets its own precise timer.
 */
const PRECISE_TIMEOUT_BELOW_MS = 2000

class RequestTimeoutError extends Error {
  readonly code = 'HORDE_ERR_HTTP_TIMEOUT'
  constructor(timeoutMs: number) {
    super(`no complete response within ${timeoutMs} ms`)
    this.name = 'TimeoutError'
  }
}

class RequestHandler implements PooledHandler {
  readonly response = new Response()
  private readonly startedAt = performance.now()
  private abortRequest: ((reason: Error) => void) | null = null
  private timer: NodeJS.Timeout | null = null
  private pool: ConnectionPool | null = null
  private client: Client | null = null

  constructor(
    private readonly method: string,
    private readonly name: string,
    private readonly keepBody: boolean,
    private readonly check: RequestOptions['check'],
    private readonly recorder: Recorder,
    private readonly gate: RequestGate,
    private readonly resolve: (response: HttpResponse) => void,
    private readonly reject: (error: Error) => void,
    timeoutMs: number,
    private readonly traced: TracedRequest | null,
  ) {
    if (timeoutMs < PRECISE_TIMEOUT_BELOW_MS) {
      this.timer = setTimeout(() => {
        this.timer = null
        this.abortRequest?.(new RequestTimeoutError(timeoutMs))
      }, timeoutMs)
    }
  }

  lease(pool: ConnectionPool, client: Client): void {
    this.pool = pool
    this.client = client
  }

  withdrawIfStopped(): boolean {
    if (!this.gate.aborted) return false
    if (this.timer !== null) clearTimeout(this.timer)
    this.traced?.finish(0, 'user stopped before the request was sent', 0, true)
    this.reject(new UserAbortedError())
    return true
  }

  /** Hands the connection back to the pool, once, as soon as the response ended or failed. */
  private releaseConnection(): void {
    const pool = this.pool
    if (pool === null) return
    this.pool = null
    pool.release(this.client as Client)
    this.client = null
  }

  onConnect(abort: (reason: Error) => void): void {
    this.abortRequest = abort
    // A request that waited for a connection while its user was stopped is never sent: the target must not
    // serve what the final report cannot count.
    if (this.gate.aborted) abort(new UserAbortedError())
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.response.status = statusCode
    this.response.rawHeaders = rawHeaders
    return true
  }

  onData(chunk: Buffer): boolean {
    this.response.bytes += chunk.length
    if (this.keepBody) {
      if (this.response.chunks === EMPTY_CHUNKS) this.response.chunks = [chunk]
      else this.response.chunks.push(chunk)
    }
    return true
  }

  onComplete(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.releaseConnection()
    const response = this.response
    response.durationMs = performance.now() - this.startedAt
    let error: string | null = response.status >= 400 ? `HTTP ${response.status}` : null
    if (this.check !== undefined) {
      try {
        const verdict = this.check(response)
        error =
          verdict === true
            ? null
            : typeof verdict === 'string'
              ? verdict
              : `check failed (HTTP ${response.status})`
      } catch (thrown) {
        error = `check threw: ${thrown instanceof Error ? thrown.message : String(thrown)}`
      }
    }
    response.ok = error === null
    response.error = error
    // Recorded even when the user was stopped meanwhile: the target served it, so the totals must count it.
    this.recorder.log(
      this.method,
      this.name,
      response.durationMs,
      response.bytes,
      error,
      this.gate.scheduleLagMs,
    )
    this.traced?.finish(response.status, error, response.durationMs)
    if (this.gate.aborted) this.reject(new UserAbortedError())
    else this.resolve(response)
  }

  onError(err: Error): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.releaseConnection()
    const response = this.response
    response.durationMs = performance.now() - this.startedAt
    if (this.gate.aborted) {
      this.traced?.finish(response.status, 'user stopped', response.durationMs, true)
      this.reject(new UserAbortedError())
      return
    }
    const code = (err as { code?: string }).code
    response.ok = false
    response.error = `${err.name}${code !== undefined ? ` ${code}` : ''}: ${err.message}`
    this.recorder.log(
      this.method,
      this.name,
      response.durationMs,
      response.bytes,
      response.error,
      this.gate.scheduleLagMs,
    )
    this.traced?.finish(response.status, response.error, response.durationMs)
    this.resolve(response)
  }
}

interface Target {
  origin: string
  path: string
}

function invalidUrl(value: string, why: string): ConfigError {
  return new ConfigError(
    'HORDE_ERR_HTTP_URL',
    `http: cannot request ${describeValue(value)}: ${why}. Give the scenario a host (host: 'http://127.0.0.1:8080'), pass --host, or use an absolute URL.`,
  )
}

/**
 * The `http` object a task receives; one per user, holding only two references so that 50,000 idle users
 * stay cheap. Requests never throw for HTTP or network failures: they are recorded and the response says
 * `ok: false`, as in Locust's HttpUser. They reject only when the user is being hard-stopped, so the task
 * ends without a bogus failure. A request the target answered is recorded even then, so the master's totals
 * match what the target served.
 */
type VerbMethod = (path: string, options?: RequestOptions) => Promise<HttpResponse>
type BoundVerbs = Record<'get' | 'post' | 'put' | 'patch' | 'delete' | 'head', VerbMethod> & {
  request: (method: string, path: string, options?: RequestOptions) => Promise<HttpResponse>
}

export class UserHttpClient implements HttpClient {
  constructor(
    private readonly transport: HttpTransport,
    private readonly recorder: Recorder,
    private readonly gate: RequestGate,
  ) {}

  // Getters that hand out functions bound to this user (made on first use, one small object per user), so a
  // task may destructure them — `({ http: { get } }) => get('/')` — without `this` being lost.
  get get(): VerbMethod {
    return this.verbs().get
  }
  get post(): VerbMethod {
    return this.verbs().post
  }
  get put(): VerbMethod {
    return this.verbs().put
  }
  get patch(): VerbMethod {
    return this.verbs().patch
  }
  get delete(): VerbMethod {
    return this.verbs().delete
  }
  get head(): VerbMethod {
    return this.verbs().head
  }

  private boundVerbs: BoundVerbs | null = null

  private verbs(): BoundVerbs {
    if (this.boundVerbs === null) {
      const verb =
        (method: string): VerbMethod =>
        (path, options) =>
          this.send(method, path, options)
      this.boundVerbs = {
        get: verb('GET'),
        post: verb('POST'),
        put: verb('PUT'),
        patch: verb('PATCH'),
        delete: verb('DELETE'),
        head: verb('HEAD'),
        request: (method, path, options) => this.send(method, path, options),
      }
    }
    return this.boundVerbs
  }

  get request(): (method: string, path: string, options?: RequestOptions) => Promise<HttpResponse> {
    return this.verbs().request
  }

  private send(method: string, path: string, options?: RequestOptions): Promise<HttpResponse> {
    if (this.gate.aborted) return Promise.reject(new UserAbortedError())
    const transport = this.transport
    const target = transport.resolve(path)
    let fullPath = target.path
    let headers: Record<string, string> | undefined = transport.defaultHeaders
    let body: string | Uint8Array | undefined
    let timeoutMs: number | undefined
    if (options !== undefined) {
      if (options.query !== undefined) {
        const query = new URLSearchParams()
        for (const [k, v] of Object.entries(options.query)) query.append(k, String(v))
        fullPath += `${fullPath.includes('?') ? '&' : '?'}${query.toString()}`
      }
      if (options.json !== undefined) {
        body = JSON.stringify(options.json)
        headers = { ...headers, 'content-type': 'application/json' }
      } else if (options.form !== undefined) {
        const form = new URLSearchParams()
        for (const [k, v] of Object.entries(options.form)) form.append(k, String(v))
        body = form.toString()
        headers = { ...headers, 'content-type': 'application/x-www-form-urlencoded' }
      } else if (options.body !== undefined) {
        body = options.body
      }
      if (options.headers !== undefined) headers = { ...headers, ...options.headers }
      if (options.timeout !== undefined) {
        timeoutMs = parseDurationMs(options.timeout)
        if (timeoutMs === undefined) {
          throw new ConfigError(
            'HORDE_ERR_HTTP_TIMEOUT',
            `http ${method} ${path}: timeout must be a duration such as '5s', received ${describeValue(options.timeout)}.`,
          )
        }
      }
    }
    const name = options?.name ?? path
    let traced: TracedRequest | null = null
    const tracer = transport.tracer
    if (tracer !== null) {
      traced = tracer.start(method, name, target.origin, this.gate.userClass ?? '', headers)
      if (traced !== null) headers = traced.headers
    }
    return new Promise<HttpResponse>((resolve, reject) => {
      const handler = new RequestHandler(
        method,
        name,
        options?.keepBody ?? true,
        options?.check,
        this.recorder,
        this.gate,
        resolve,
        reject,
        timeoutMs ?? transport.settings.timeoutMs,
        traced,
      )
      transport.pool(target.origin).dispatch(
        {
          method,
          path: fullPath,
          headers,
          body,
          reset: transport.reset,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        handler,
      )
    })
  }
}
