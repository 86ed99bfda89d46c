import { gunzipSync } from 'node:zlib'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Coordinator } from '../../src/master/coordinator.js'
import { ControlApi } from '../../src/master/control-api.js'
import type { Dashboard } from '../../src/master/dashboard.js'
import { createDashboard } from '../../src/cli/dashboard-setup.js'
import { createLogger } from '../../src/shared/logger.js'
import { testPlan } from '../helpers/plans.js'

const logger = createLogger({ role: 'master', level: process.env.HORDE_TEST_LOG ?? 'silent' })
const TOKEN = 'dashboard-routes-token'

describe('the dashboard routes on the control API (a real master waiting for workers, port 0)', () => {
  let coordinator: Coordinator
  let api: ControlApi
  let dashboard: Dashboard
  beforeAll(async () => {
    coordinator = await Coordinator.start({
      plan: testPlan({ expectWorkers: 2, users: 4, expectWorkersTimeoutMs: 60_000 }),
      bindHost: '127.0.0.1',
      bindPort: 0,
      logger,
    })
    dashboard = createDashboard(coordinator, true)
    api = await ControlApi.start({
      coordinator,
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      allowedHosts: ['horde-master.load.svc'],
      logger,
      dashboard,
    })
  })
  afterAll(async () => {
    await api?.close()
    await coordinator?.close()
  })

  async function get(path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
    const response = await request(`${api.url}${path}`, { method, headers })
    const body = Buffer.from(await response.body.arrayBuffer())
    return { status: response.statusCode, headers: response.headers, body }
  }

  it('serves the page without the token, with a per-page script nonce and no token in it', async () => {
    const page = await get('/')
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    const csp = String(page.headers['content-security-policy'])
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1]
    expect(nonce).toBeDefined()
    expect(csp).toContain("connect-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    const html = page.body.toString()
    const scripts = html.match(/<script\b[^>]*>/g) ?? []
    // The data block is JSON (never run); every other script carries this page's nonce.
    expect(scripts.filter((s) => !s.includes('application/json'))).toEqual(
      Array(4).fill(`<script nonce="${nonce}">`),
    )
    expect(html).not.toContain(TOKEN)
    // Relative URLs only, so the page works under a proxy's path prefix.
    expect(html).not.toMatch(/fetch\(\s*'\//)
    expect((await get('/')).headers['content-security-policy']).not.toBe(csp)
    expect((await get('/', {}, 'HEAD')).status).toBe(200)
  })

  it('serves one update without the token, gzipped when asked, rendered once for all viewers in a second', async () => {
    const before = dashboard.renders
    const bodiesBefore = dashboard.bodiesBuilt
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        get('/dashboard/data', i % 2 === 0 ? { 'accept-encoding': 'gzip' } : {}),
      ),
    )
    expect(answers.every((a) => a.status === 200)).toBe(true)
    expect(dashboard.renders - before).toBeLessThanOrEqual(2)
    // Serialized and gzipped once per version, not once per viewer.
    expect(dashboard.bodiesBuilt - bodiesBefore).toBeLessThanOrEqual(2)
    const plain = JSON.parse(answers[1]!.body.toString()) as {
      sections: Record<string, string>
      status: { phase: string }
    }
    expect(answers[0]!.headers['content-encoding']).toBe('gzip')
    const unzipped = JSON.parse(gunzipSync(answers[0]!.body).toString()) as typeof plain
    expect(unzipped.status.phase).toBe('waiting')
    expect(Object.keys(plain.sections).sort()).toEqual(
      ['endpoints', 'errors', 'events', 'kpis', 'live-status', 'thresholds', 'workers'].sort(),
    )
    expect(plain.sections['live-status']).toContain('data-phase="waiting"')
  })

  it('numbers its versions: a viewer at the newest gets 304 (since or If-None-Match), held until the next tick with wait=1; unknown or foreign versions get the whole state', async () => {
    const full = await get('/dashboard/data')
    const update = JSON.parse(full.body.toString()) as { v: string; base: string | null; sections: object }
    expect(update.base).toBeNull()
    expect(update.v).toMatch(/^[0-9a-f]{8}-\d+$/)
    expect(full.headers.etag).toBe(`"${update.v}"`)
    // A waiting master changes nothing from second to second: the same version, no body.
    const same = await get(`/dashboard/data?since=${update.v}`)
    expect([same.status, same.body.length, same.headers.etag]).toEqual([304, 0, `"${update.v}"`])
    expect((await get('/dashboard/data', { 'if-none-match': `"${update.v}"` })).status).toBe(304)
    // wait=1 holds the poll until the next render (at most a second), which brings nothing new: 304.
    const rendersBefore = dashboard.renders
    const held = await Promise.all(
      Array.from({ length: 20 }, () => get(`/dashboard/data?since=${update.v}&wait=1`)),
    )
    expect(held.map((h) => h.status)).toEqual(Array(20).fill(304))
    expect(dashboard.renders - rendersBefore).toBeLessThanOrEqual(2)
    // Not a version of this master (a page left open from a previous run, garbage): the whole state.
    for (const since of ['00000000-1', 'garbage', `${update.v}0`]) {
      const answer = await get(`/dashboard/data?since=${encodeURIComponent(since)}`)
      expect(answer.status, since).toBe(200)
      const body = JSON.parse(answer.body.toString()) as { base: string | null; sections: object }
      expect(body.base, since).toBeNull()
      expect(Object.keys(body.sections)).toHaveLength(7)
    }
  })

  it('keeps every other route behind the token', async () => {
    expect((await get('/status')).status).toBe(401)
    expect((await get('/stats')).status).toBe(401)
    const pause = await request(`${api.url}/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(pause.statusCode).toBe(401)
    await pause.body.dump()
    expect(coordinator.paused).toBe(false)
  })

  it('keeps the Host and Origin guards on the dashboard too', async () => {
    const rebinding = await get('/', { host: `evil.example:${api.port}` })
    expect(rebinding.status).toBe(403)
    expect(rebinding.body.toString()).toMatch(/is not this master's address/)
    expect((await get('/dashboard/data', { origin: 'http://evil.example' })).status).toBe(403)
    expect((await get('/', { host: 'horde-master.load.svc' })).status).toBe(200)
  })

  it('answers only GET and HEAD on its routes: a POST to / is the API 404 (with the token)', async () => {
    const post = await request(`${api.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: '{}',
    })
    expect(post.statusCode).toBe(404)
    expect(await post.body.text()).toContain('GET / (the live dashboard)')
  })
})
