import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HttpTransport, UserHttpClient, UserAbortedError } from '../../src/worker/http/http-client.js'
import { RequestStats } from '../../src/worker/stats.js'
import { startTargetServer, type TargetServer } from '../helpers/target-server.js'

let target: TargetServer
beforeAll(async () => {
  target = await startTargetServer()
})
afterAll(async () => {
  await target.close()
})

function client(overrides: Partial<ConstructorParameters<typeof HttpTransport>[0]> = {}) {
  const transport = new HttpTransport({
    baseUrl: target.url,
    keepAlive: true,
    connections: null,
    timeoutMs: 5000,
    headers: {},
    ...overrides,
  })
  const stats = new RequestStats()
  const gate = { aborted: false, scheduleLagMs: 0 }
  return { http: new UserHttpClient(transport, stats, gate), stats, transport, gate }
}

describe('UserHttpClient', () => {
  it('records successes with bytes and a response time, grouped by name', async () => {
    const { http, stats, transport } = client()
    const response = await http.get('/ok')
    expect(response.status).toBe(200)
    expect(response.ok).toBe(true)
    expect(response.bytes).toBe(100)
    expect(response.text()).toBe('x'.repeat(100))
    await http.get('/ok?id=1', { name: '/ok?id=[id]' })
    await http.get('/ok?id=2', { name: '/ok?id=[id]' })
    const delta = stats.takeDelta()
    const rows = Object.fromEntries(delta.stats.map((s) => [`${s.method} ${s.name}`, s]))
    expect(rows['GET /ok']?.numRequests).toBe(1)
    expect(rows['GET /ok']?.totalContentLength).toBe(100)
    expect(rows['GET /ok?id=[id]']?.numRequests).toBe(2)
    expect(rows['GET /ok']?.minResponseTime).toBeGreaterThan(0)
    await transport.close()
  })

  it('fails on status ≥ 400 with the status as error text, and the task goes on', async () => {
    const { http, stats, transport } = client()
    const response = await http.get('/fail')
    expect(response.ok).toBe(false)
    expect(response.error).toBe('HTTP 500')
    const delta = stats.takeDelta()
    expect(delta.statsTotal.numFailures).toBe(1)
    expect([...delta.errors.values()][0]).toMatchObject({ error: 'HTTP 500', occurrences: 1, name: '/fail' })
    await transport.close()
  })

  it("lets the task's check decide success", async () => {
    const { http, stats, transport } = client()
    const bad = await http.get('/json', {
      check: (r) => (r.json<{ ok: boolean }>().ok ? 'ok was true' : true),
    })
    expect(bad.ok).toBe(false)
    expect(bad.error).toBe('ok was true')
    const notFoundIsFine = await http.get('/missing', { check: (r) => r.status === 404 })
    expect(notFoundIsFine.ok).toBe(true)
    expect(stats.takeDelta().statsTotal.numFailures).toBe(1)
    await transport.close()
  })

  it('sends JSON and form bodies, query parameters and headers', async () => {
    const { http, transport } = client({ headers: { 'x-default': 'd' } })
    const json = await http.post('/echo', { json: { a: 1 }, headers: { 'x-extra': 'e' } })
    expect(json.json()).toEqual({ a: 1 })
    expect(json.headers['content-type']).toBe('application/json')
    expect(target.lastRequest()?.headers['x-default']).toBe('d')
    expect(target.lastRequest()?.headers['x-extra']).toBe('e')
    const form = await http.post('/echo', { form: { vote: 'a b' }, query: { page: 2 } })
    expect(form.text()).toBe('vote=a+b')
    expect(target.lastRequest()?.url).toBe('/echo?page=2')
    await transport.close()
  })

  it('times out per request and records the timeout as a failure', async () => {
    const { http, stats, transport } = client()
    const response = await http.get('/delay/1500', { timeout: '100ms' })
    expect(response.ok).toBe(false)
    expect(response.error).toMatch(/Timeout/i)
    expect(response.durationMs).toBeGreaterThanOrEqual(90)
    expect(response.durationMs).toBeLessThan(450)
    expect(stats.takeDelta().statsTotal.numFailures).toBe(1)
    await transport.close()
  })

  it('records network errors as failures', async () => {
    const { http, stats, transport } = client({ baseUrl: 'http://127.0.0.1:1' })
    const response = await http.get('/ok')
    expect(response.ok).toBe(false)
    expect(response.error).toMatch(/ECONNREFUSED/)
    expect(stats.takeDelta().statsTotal.numFailures).toBe(1)
    await transport.close()
  })

  it('reuses connections with keep-alive and opens one per request without it', async () => {
    const before = target.connections()
    const keep = client()
    for (let i = 0; i < 5; i++) await keep.http.get('/ok')
    // ≤ 2, not 1: the next request can be dispatched in the same tick the previous response completed,
    // before undici marks that connection idle, so the pool may open one more.
    expect(target.connections() - before).toBeLessThanOrEqual(2)
    await keep.transport.close()

    const mid = target.connections()
    const noKeep = client({ keepAlive: false })
    for (let i = 0; i < 5; i++) await noKeep.http.get('/ok')
    expect(target.connections() - mid).toBe(5)
    await noKeep.transport.close()
  })

  it('caps connections per origin when asked', async () => {
    const before = target.connections()
    const capped = client({ connections: 2 })
    await Promise.all(Array.from({ length: 10 }, () => capped.http.get('/delay/20')))
    expect(target.connections() - before).toBe(2)
    await capped.transport.close()
  })

  it('refuses new requests once the user is hard-stopped, without recording a failure', async () => {
    const { http, stats, gate, transport } = client()
    gate.aborted = true
    await expect(http.get('/ok')).rejects.toBeInstanceOf(UserAbortedError)
    expect(stats.takeDelta().statsTotal.numRequests).toBe(0)
    await transport.close()
  })

  it('names a missing host in its error', async () => {
    const { http, transport } = client({ baseUrl: null })
    expect(() => http.get('/ok')).toThrow(/no host is set.*--host/)
    await transport.close()
  })
})
