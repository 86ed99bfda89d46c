import type { LiveState } from '../shared/live-state.js'
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { gzipSync } from 'node:zlib'
import type { DashboardUpdate } from '../shared/dashboard-update.js'
import type { RunResult, TimePoint } from '../shared/result.js'
import { dashboardDelta } from './dashboard-delta.js'
import type { Coordinator } from './coordinator.js'
import { buildResult } from './result-builder.js'

/**
 * The live dashboard on the control API's port: `GET /` (the page) and `GET /dashboard/data` (updates). Both are
 * read-only and need no token; the page's buttons call the control API's own routes, which keep every guard
 * (token, Host, same origin). Plain short HTTP requests rather than server-sent events: they pass any proxy
 * (kubectl port-forward, the API server's service proxy) and a lost one is simply asked again.
 *
 * Cost does not grow with viewers or with the run's length:
 * - the run so far is built and rendered at most once per second, as one numbered version, whoever asks;
 * - `?since=<version>` gets only what changed since that version (dashboard-delta.ts): the new seconds of the
 *   chart and the sections whose HTML changed. A viewer that missed polls gets the delta from where it is, or
 *   the whole state when its version is too old or from another master. Each (version, base) body is
 *   serialized and gzipped once and the same bytes go to every viewer at that base;
 * - `&wait=1` (the page) holds the request until the next version (at most a second), so every viewer is
 *   answered in the same tick, in one pass, instead of each waking the master at its own moment of the second;
 * - nothing new since that version (paused, waiting, done): 304 with no body. `If-None-Match` works too.
 */

/** The HTML lives in report/ (the report's templates and charts); the CLI hands it in. */
export interface DashboardRenderer {
  page(result: RunResult, live: LiveState, nonce: string): string
  data(result: RunResult, live: LiveState): DashboardUpdate
}

export interface DashboardOptions {
  coordinator: Coordinator
  renderer: DashboardRenderer
  controlNeedsToken: boolean
}

/** How long one rendered update is served to every viewer. */
const SNAPSHOT_MS = 1000
/**
 * Workers report every 3 s, so a second older than this has every healthy worker's numbers: the dashboard
 * keeps its point instead of rebuilding the whole run's series every second, and its cost does not grow with
 * the run's length. (A report later than that still counts in the final result, not in the live chart.)
 */
const FRESH_SECONDS = 10
/** Versions a viewer may be behind and still get a delta (a minute of lost polls); older gets everything. */
const HISTORY_VERSIONS = 60

interface Version {
  seq: number
  atMs: number
  update: DashboardUpdate
  /** The update as JSON: compared to tell whether anything changed, and the body of a full answer. */
  json: string
}

interface Body {
  json: Buffer
  gzip: Buffer
}

interface Waiter {
  res: ServerResponse
  gzip: boolean
  base: number
}

interface PageSnapshot {
  atMs: number
  html: string
  /** Stands where each visitor's own nonce goes. */
  placeholder: string
}

export class Dashboard {
  readonly #options: DashboardOptions
  /** Tells versions of this master from a previous one's (a viewer left open across runs). */
  readonly #epoch = randomBytes(4).toString('hex')
  /** Newest last. */
  readonly #versions: Version[] = []
  /** Bodies of the newest version, by the base they were computed from ('full' for the whole state). */
  readonly #bodies = new Map<number | 'full', Body>()
  readonly #waiting = new Set<Waiter>()
  #tick: NodeJS.Timeout | null = null
  #pageSnapshot: PageSnapshot | null = null
  /** Time points of seconds before #frozenUntilSec, kept from earlier updates. */
  #frozen: TimePoint[] = []
  #frozenUntilSec: number | null = null
  /** Updates rendered so far (the tests and the benchmark check that viewers share them). */
  renders = 0
  /** Bodies serialized so far (one per version and base, however many viewers got it). */
  bodiesBuilt = 0

  constructor(options: DashboardOptions) {
    this.#options = options
  }

  /** Answers the dashboard's routes; false for any other request (the control API handles it). */
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    if (path === '/' || path === '/index.html') {
      this.#page(req, res)
      return true
    }
    if (path === '/dashboard/data') {
      this.#data(req, res, query)
      return true
    }
    return false
  }

  #live(): { result: RunResult; live: LiveState } {
    const c = this.#options.coordinator
    const outcome = c.outcome()
    const loadStart = outcome.loadStartedAtMs
    const frozenUntil = this.#frozenUntilSec
    // Only the seconds not frozen yet are rebuilt: the series starts there.
    const result =
      loadStart === null || frozenUntil === null
        ? buildResult(c.plan, outcome)
        : buildResult(c.plan, { ...outcome, loadStartedAtMs: Math.max(loadStart, frozenUntil * 1000) })
    if (loadStart !== null) {
      const cutSec = Math.floor(Date.now() / 1000) - FRESH_SECONDS
      const settled = result.timeSeries.filter((p) => p.timeMs < cutSec * 1000)
      if (settled.length > 0) {
        this.#frozen.push(...settled)
        this.#frozenUntilSec = Math.floor((settled.at(-1) as TimePoint).timeMs / 1000) + 1
      }
      result.timeSeries = [...this.#frozen, ...result.timeSeries.slice(settled.length)]
    }
    const live: LiveState = {
      phase: c.phase,
      paused: c.paused,
      elapsedMs: c.loadStartedAtMs === null ? 0 : Date.now() - c.loadStartedAtMs,
      users: c.registry.reportedUsers(),
      targetUsers: c.targetUsers,
      targetRps: c.targetRps,
      controlNeedsToken: this.#options.controlNeedsToken,
      workers: [...c.registry.nodes.values()].map((n) => ({
        id: n.id,
        state: n.state,
        users: n.userCount,
        cpuPercent: n.cpuPercent,
      })),
    }
    return { result, live }
  }

  #page(req: IncomingMessage, res: ServerResponse): void {
    const now = Date.now()
    let page = this.#pageSnapshot
    if (page === null || now - page.atMs >= SNAPSHOT_MS) {
      // Rendered once a second with a placeholder: a room of people opening the page costs one render.
      const placeholder = randomBytes(16).toString('hex')
      const { result, live } = this.#live()
      page = { atMs: now, html: this.#options.renderer.page(result, live, placeholder), placeholder }
      this.#pageSnapshot = page
      this.renders += 1
    }
    // A fresh nonce per visit: scripts the page did not ship (an attribute smuggled into markup) never run.
    const nonce = randomBytes(16).toString('hex') // hex: nothing for HTML escaping to change
    const html = Buffer.from(page.html.replaceAll(page.placeholder, nonce))
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-length': html.length,
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    })
    res.end(req.method === 'HEAD' ? undefined : html)
  }

  #data(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const current = this.#current(Date.now())
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
    const base = this.#parseVersion(query.get('since'))
    if (base === current.seq || req.headers['if-none-match'] === this.#etag(current.seq)) {
      if (query.get('wait') === '1' && req.method === 'GET') {
        // Answered with everyone else at the next version (or 304 if it brings nothing).
        const waiter: Waiter = { res, gzip, base: current.seq }
        this.#waiting.add(waiter)
        res.once('close', () => this.#waiting.delete(waiter))
        this.#armTick(current)
        return
      }
      this.#notModified(res, current.seq)
      return
    }
    this.#send(res, gzip, base, req.method === 'HEAD')
  }

  /** The newest version, rendering a new one when it is a second old. */
  #current(now: number): Version {
    const last = this.#versions.at(-1)
    if (last !== undefined && now - last.atMs < SNAPSHOT_MS) return last
    return this.#render(now)
  }

  #render(now: number): Version {
    const { result, live } = this.#live()
    const update = this.#options.renderer.data(result, live)
    this.renders += 1
    const json = JSON.stringify(update)
    const last = this.#versions.at(-1)
    if (last !== undefined && last.json === json) {
      // Nothing changed (paused, waiting, done): the same version, so viewers get 304s.
      last.atMs = now
      return last
    }
    const version: Version = { seq: (last?.seq ?? 0) + 1, atMs: now, update, json }
    this.#versions.push(version)
    if (this.#versions.length > HISTORY_VERSIONS) this.#versions.shift()
    this.#bodies.clear()
    return version
  }

  #armTick(current: Version): void {
    if (this.#tick !== null) return
    this.#tick = setTimeout(
      () => {
        this.#tick = null
        if (this.#waiting.size === 0) return
        const next = this.#render(Date.now())
        const waiting = [...this.#waiting]
        this.#waiting.clear()
        for (const w of waiting) {
          if (w.base === next.seq) this.#notModified(w.res, next.seq)
          else this.#send(w.res, w.gzip, w.base, false)
        }
      },
      Math.max(0, current.atMs + SNAPSHOT_MS - Date.now()),
    )
    // A held poll never keeps a finished master alive.
    this.#tick.unref()
  }

  /** The newest version as a delta from `base` when this master still has it, else whole. */
  #send(res: ServerResponse, gzip: boolean, base: number | null, head: boolean): void {
    const current = this.#versions.at(-1) as Version
    const from = base === null ? undefined : this.#versions.find((v) => v.seq === base)
    const key = from === undefined ? 'full' : from.seq
    let body = this.#bodies.get(key)
    if (body === undefined) {
      const delta = from === undefined ? null : dashboardDelta(from.update, current.update)
      const head = `{"v":"${this.#epoch}-${current.seq}"`
      const text =
        delta === null || from === undefined
          ? `${head},"base":null,${current.json.slice(1)}`
          : `${head},"base":"${this.#epoch}-${from.seq}",${JSON.stringify(delta).slice(1)}`
      const json = Buffer.from(text)
      body = { json, gzip: gzipSync(json, { level: 6 }) }
      this.#bodies.set(key, body)
      this.bodiesBuilt += 1
    }
    const bytes = gzip ? body.gzip : body.json
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'application/json',
      'content-length': bytes.length,
      etag: this.#etag(current.seq),
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    })
    res.end(head ? undefined : bytes)
  }

  #notModified(res: ServerResponse, seq: number): void {
    res.writeHead(304, { ...SECURITY_HEADERS, etag: this.#etag(seq) })
    res.end()
  }

  #etag(seq: number): string {
    return `"${this.#epoch}-${seq}"`
  }

  /** The version number in `<epoch>-<seq>`; null for none, garbage, or another master's. */
  #parseVersion(text: string | null): number | null {
    if (text === null) return null
    const match = /^([0-9a-f]{8})-(\d{1,15})$/.exec(text)
    if (match === null || match[1] !== this.#epoch) return null
    return Number(match[2])
  }
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const
