/** Options for one HTTP request made from a task. */
export interface RequestOptions {
  /** Groups URLs into one stats row, e.g. '/item/[id]'. Defaults to the path. */
  name?: string
  headers?: Record<string, string>
  /** Query parameters appended to the path. */
  query?: Record<string, string | number | boolean>
  /** Sent as application/json. */
  json?: unknown
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string | number | boolean>
  /** Raw body. */
  body?: string | Uint8Array
  /** Overrides the scenario's per-request timeout ('5s'). */
  timeout?: string
  /**
   * Decides success yourself: return true for success, false or a string (the error text) for failure.
   * Default: status < 400 is success.
   */
  check?: (response: HttpResponse) => boolean | string
  /** Keep the body so that `text()`/`json()` work (default true; false saves memory on big downloads). */
  keepBody?: boolean
}

export interface HttpResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** Bytes of body received. */
  bytes: number
  /** Milliseconds from send to the end of the body. */
  durationMs: number
  /** Whether this request was recorded as a failure. */
  ok: boolean
  /** The failure text, when not ok. */
  error: string | null
  text(): string
  json<T = unknown>(): T
}

/** Each member is a function bound to its user: destructuring (`({ http: { get } }) => get('/')`) is fine. */
export interface HttpClient {
  readonly get: (path: string, options?: RequestOptions) => Promise<HttpResponse>
  readonly post: (path: string, options?: RequestOptions) => Promise<HttpResponse>
  readonly put: (path: string, options?: RequestOptions) => Promise<HttpResponse>
  readonly patch: (path: string, options?: RequestOptions) => Promise<HttpResponse>
  readonly delete: (path: string, options?: RequestOptions) => Promise<HttpResponse>
  readonly head: (path: string, options?: RequestOptions) => Promise<HttpResponse>
  readonly request: (method: string, path: string, options?: RequestOptions) => Promise<HttpResponse>
}
