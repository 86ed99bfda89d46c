import type { LiveState } from '../shared/live-state.js'
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { gzipSync } from 'node:zlib'
import type { RunResult, TimePoint } from '../shared/result.js'
import type { Coordinator } from './coordinator.js'
import { buildResult } from './result-builder.js'

/**
 * The live dashboard on the control API's port: `GET /` (the page) and `GET /dashboard/data` (one update,
 * polled every second). Both are read-only and need no token; the page's buttons call the control API's own
 * routes, which keep every guard (token, Host, Origin). Polling rather than server-sent events: plain requests
 * pass any proxy (kubectl port-forward, the API server's service proxy) and a lost one is simply retried.
 *
 * Cost does not grow with viewers: the run so far is built and rendered at most once per second, and every
 * viewer in that second gets the same bytes (gzipped once when they accept it).
 */

/** The HTML lives in report/ (the report's templates and charts); the CLI hands it in. */
export interface DashboardRenderer {
  page(result: RunResult, live: LiveState, nonce: string): string
  data(result: RunResult, live: LiveState): string
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

interface Snapshot {
  atMs: number
  json: Buffer
  gzip: Buffer
}

interface PageSnapshot {
  atMs: number
  html: string
  /** Stands where each visitor's own nonce goes. */
  placeholder: string
}

export class Dashboard {
  readonly #options: DashboardOptions
  #snapshot: Snapshot | null = null
  #pageSnapshot: PageSnapshot | null = null
  /** Time points of seconds before #frozenUntilSec, kept from earlier updates. */
  #frozen: TimePoint[] = []
  #frozenUntilSec: number | null = null
  /** Updates rendered so far (the benchmark checks that viewers share them). */
  renders = 0

  constructor(options: DashboardOptions) {
    this.#options = options
  }

  /** Answers the dashboard's routes; false for any other request (the control API handles it). */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    if (path === '/' || path === '/index.html') {
      this.#page(req, res)
      return true
    }
    if (path === '/dashboard/data') {
      this.#data(req, res)
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

  #data(req: IncomingMessage, res: ServerResponse): void {
    const now = Date.now()
    let snapshot = this.#snapshot
    if (snapshot === null || now - snapshot.atMs >= SNAPSHOT_MS) {
      const { result, live } = this.#live()
      const json = Buffer.from(this.#options.renderer.data(result, live))
      snapshot = { atMs: now, json, gzip: gzipSync(json, { level: 6 }) }
      this.#snapshot = snapshot
      this.renders += 1
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
    const body = gzip ? snapshot.gzip : snapshot.json
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'application/json',
      'content-length': body.length,
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  }
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const
