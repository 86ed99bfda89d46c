/**
 * Where reports live: `<base>/<scenario>/<run-id>/{index.html,result.json,summary.json,*.csv}`, with
 * `<base>/<scenario>/index.html` and `<base>/index.html` rebuilt from the stored results. Keys are
 * '/'-separated and relative to the base.
 */
export interface PutOptions {
  contentType: string
  cacheControl: string
}

export interface Store {
  readonly kind: 'local' | 'gcs'
  /** A folder path or gs://bucket/prefix, for messages. */
  readonly location: string
  put(key: string, body: string | Buffer, options?: Partial<PutOptions>): Promise<void>
  /** null when the object does not exist. */
  get(key: string): Promise<Buffer | null>
  /** Every key under the prefix ('' for all), recursively; keys with more than maxDepth segments may be left out. */
  list(prefix: string, options?: { maxDepth?: number }): Promise<string[]>
  /** Where a person opens the object: a file path, a public URL or (when asked for) a signed URL. */
  url(key: string): Promise<string>
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  png: 'image/png',
  txt: 'text/plain; charset=utf-8',
}

export function contentTypeFor(key: string): string {
  const ext = key.slice(key.lastIndexOf('.') + 1).toLowerCase()
  return TYPES[ext] ?? 'application/octet-stream'
}

/**
 * Indexes change with every run and must never be served stale; a run's own files only change when it is
 * re-rendered, so a short public cache is fine.
 */
export function cacheControlFor(key: string): string {
  const isIndex = key === 'index.html' || /^[^/]+\/index\.html$/.test(key)
  return isIndex ? 'no-cache, max-age=0' : 'public, max-age=300'
}

export function defaultPutOptions(key: string, options?: Partial<PutOptions>): PutOptions {
  return {
    contentType: options?.contentType ?? contentTypeFor(key),
    cacheControl: options?.cacheControl ?? cacheControlFor(key),
  }
}
