import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import type { Logger } from '../shared/logger.js'
import type { Coordinator } from './coordinator.js'
import { endpointResult, latencySummary } from './result-builder.js'
import { MAX_DURATION_TEXT, parseDurationMs, parseTimerDurationMs } from '../shared/duration.js'
import type { Dashboard } from './dashboard.js'
import { describeValue } from '../shared/errors.js'
import {
  BodyTooLargeError,
  MAX_RPS_PER_WORKER,
  MAX_USERS_PER_WORKER,
  checkRequest,
  readBody,
} from './control-api-guard.js'

export interface ControlApiOptions {
  coordinator: Coordinator
  host: string
  port: number
  /** When set, every request needs `Authorization: Bearer <token>` (or `X-Horde-Token: <token>`). */
  token: string | null
  /** Names besides IP literals, localhost and `host` that clients may use in Host (e.g. a Service name). */
  allowedHosts?: readonly string[]
  logger: Logger
  /** The live dashboard (GET / and GET /dashboard/data): read-only, served without the token. */
  dashboard?: Dashboard
}

const stopBody = z.object({ reason: z.string().max(500).optional() }).strict()
const targetBody = z
  .object({
    users: z.number().int().min(0).optional(),
    spawnRate: z.number().positive().optional(),
    rps: z.number().min(0).optional(),
    ramp: z
      .string()
      .refine((text) => parseTimerDurationMs(text) !== undefined, {
        message: `must be a duration such as '10s', at most ${MAX_DURATION_TEXT}`,
      })
      .optional(),
  })
  .strict()
  .refine((body) => body.users !== undefined || body.rps !== undefined, {
    message: 'give users (closed model) or rps (open model)',
  })

/**
 * The master's HTTP control API, for the platform and for people: status, live stats, stop. Bound to 127.0.0.1
 * unless told otherwise. Stopping is graceful and marks the run `stopped`.
 *
 *   GET  /status  → { runId, phase, elapsedMs, users, targetUsers, workers: [...] }
 *   GET  /stats   → { totals, endpoints, errors } of the measured window so far
 *   POST /stop    → 202 { stopping: true }; body optional: { "reason": "..." }
 *   POST /pause   → 200 { paused: true }: no new tasks/iterations start; in-flight ones finish
 *   POST /resume  → 200 { paused: false }
 *   POST /target  → 200 { ok: true }; body { "users": N, "spawnRate"?: R } or { "rps": N, "ramp"?: "10s" }
 */
export class ControlApi {
  readonly #server: Server
  readonly #options: ControlApiOptions

  private constructor(server: Server, options: ControlApiOptions) {
    this.#server = server
    this.#options = options
  }

  static async start(options: ControlApiOptions): Promise<ControlApi> {
    const server = createServer()
    const api = new ControlApi(server, options)
    server.on('request', (req, res) => {
      api.#handle(req, res).catch((error: unknown) => {
        if (error instanceof BodyTooLargeError) {
          if (!res.headersSent) api.#json(res, 413, { error: error.message }, true)
          return
        }
        options.logger.error({ err: error }, 'control api request failed')
        if (!res.headersSent) api.#json(res, 500, { error: 'internal error' })
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    return api
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port
  }

  get url(): string {
    const host = this.#options.host.includes(':') ? `[${this.#options.host}]` : this.#options.host
    return `http://${host}:${this.port}`
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #authorized(req: IncomingMessage): boolean {
    const token = this.#options.token
    if (token === null) return true
    // X-Horde-Token: the Kubernetes API server's service proxy keeps a caller's Authorization for itself.
    const header = req.headers['x-horde-token']
    const given = Buffer.from(
      typeof header === 'string' ? `Bearer ${header}` : (req.headers.authorization ?? ''),
    )
    const expected = Buffer.from(`Bearer ${token}`)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refusal = checkRequest(req, this.#options.host, this.#options.allowedHosts ?? [])
    if (refusal !== null) {
      // Close the connection: a refused body is never read.
      this.#json(res, refusal.status, { error: refusal.error }, true)
      return
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = url.pathname
    if (this.#options.dashboard?.handle(req, res, path, url.searchParams) === true) return
    if (!this.#authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer')
      this.#json(res, 401, {
        error: 'missing or wrong bearer token: send Authorization: Bearer <HORDE_API_TOKEN>',
      })
      return
    }
    const coordinator = this.#options.coordinator
    if (req.method === 'GET' && path === '/status') {
      this.#json(res, 200, this.#status())
      return
    }
    if (req.method === 'GET' && path === '/stats') {
      const measured = coordinator.aggregator.measured
      const loadStart = coordinator.loadStartedAtMs
      const seconds = loadStart === null ? 0.001 : Math.max(0.001, (Date.now() - loadStart) / 1000)
      this.#json(res, 200, {
        runId: coordinator.plan.runId,
        phase: coordinator.phase,
        totals: {
          requests: measured.total.requests,
          failures: measured.total.failures,
          ...latencySummary(measured.total),
        },
        endpoints: [...measured.rows.values()].map((row) => endpointResult(row, seconds)),
        errors: [...coordinator.aggregator.errors.values()],
      })
      return
    }
    if (req.method === 'POST' && (path === '/pause' || path === '/resume')) {
      const pause = path === '/pause'
      const changed = pause ? coordinator.pause() : coordinator.resume()
      if (!changed && coordinator.phase !== 'running') {
        this.#json(res, 409, {
          error: `the run is ${coordinator.phase}, not running: nothing to ${path.slice(1)}`,
        })
        return
      }
      this.#json(res, 200, { paused: coordinator.paused, changed })
      return
    }
    if (req.method === 'POST' && path === '/target') {
      let parsed: unknown
      const text = await readBody(req)
      try {
        parsed = JSON.parse(text)
      } catch {
        this.#json(res, 400, {
          error: `body must be JSON such as {"users": 50} or {"rps": 200, "ramp": "10s"}, received ${describeValue(text)}`,
        })
        return
      }
      const body = targetBody.safeParse(parsed)
      if (!body.success) {
        const issue = body.error.issues[0]
        this.#json(res, 400, {
          error: `${issue?.path.join('.') || 'body'} ${issue?.message ?? 'is invalid'}, received ${describeValue(parsed)}: send {"users": N, "spawnRate"?: R} or {"rps": N, "ramp"?: "10s"}`,
        })
        return
      }
      const bound = this.#valueBound(body.data)
      if (bound !== null) {
        this.#json(res, 400, { error: bound })
        return
      }
      const { ramp, ...change } = body.data
      const result = coordinator.retarget({
        ...change,
        ...(ramp !== undefined ? { rampMs: parseDurationMs(ramp) } : {}),
      })
      if (!result.ok) {
        this.#json(res, 409, { error: result.error })
        return
      }
      this.#json(res, 200, {
        ok: true,
        targetUsers: coordinator.targetUsers,
        targetRps: coordinator.targetRps,
      })
      return
    }
    if (req.method === 'POST' && path === '/stop') {
      const text = await readBody(req)
      let reason = 'stop requested through the control API'
      if (text.trim() !== '') {
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          this.#json(res, 400, { error: 'body must be JSON such as {"reason": "..."} or empty' })
          return
        }
        const body = stopBody.safeParse(parsed)
        if (!body.success) {
          this.#json(res, 400, { error: 'body may only contain {"reason": "<text up to 500 chars>"}' })
          return
        }
        reason = body.data.reason ?? reason
      }
      this.#options.logger.info({ reason }, 'stop requested through the control api')
      coordinator.requestStop(reason, 'person')
      this.#json(res, 202, { stopping: true, reason })
      return
    }
    this.#json(res, 404, {
      error: `no route ${req.method ?? ''} ${path}: use GET / (the live dashboard), GET /status, GET /stats, POST /stop, /pause, /resume or /target`,
    })
  }

  /** users, spawnRate and rps stay within what the workers can sanely run; null when they do. */
  #valueBound(body: { users?: number; spawnRate?: number; rps?: number }): string | null {
    const c = this.#options.coordinator
    const workers = Math.max(1, c.plan.expectWorkers, c.registry.active().length)
    const maxUsers = MAX_USERS_PER_WORKER * workers
    const maxRps = MAX_RPS_PER_WORKER * workers
    const fix = `(${workers} worker(s)): add workers first or ask for less`
    if (body.users !== undefined && body.users > maxUsers) {
      return `users must be at most ${maxUsers} (${MAX_USERS_PER_WORKER} per worker × ${workers}), received ${body.users} ${fix}`
    }
    if (body.spawnRate !== undefined && body.spawnRate > maxUsers) {
      return `spawnRate must be at most ${maxUsers} users/s, received ${body.spawnRate} ${fix}`
    }
    if (body.rps !== undefined && body.rps > maxRps) {
      return `rps must be at most ${maxRps} (${MAX_RPS_PER_WORKER} per worker × ${workers}), received ${body.rps} ${fix}`
    }
    return null
  }

  #status(): Record<string, unknown> {
    const c = this.#options.coordinator
    return {
      runId: c.plan.runId,
      scenario: c.plan.scenarioName,
      phase: c.phase,
      elapsedMs: c.loadStartedAtMs === null ? 0 : Date.now() - c.loadStartedAtMs,
      users: c.registry.reportedUsers(),
      targetUsers: c.targetUsers,
      dispatchedUsers: c.dispatchedUsers,
      paused: c.paused,
      targetRps: c.targetRps,
      workers: [...c.registry.nodes.values()].map((n) => ({
        id: n.id,
        index: n.index,
        state: n.state,
        users: n.userCount,
        cpuPercent: n.cpuPercent,
      })),
      events: c.events.slice(-20),
    }
  }

  #json(res: ServerResponse, status: number, body: unknown, close = false): void {
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...(close ? { connection: 'close' } : {}),
    })
    res.end(text)
  }
}
