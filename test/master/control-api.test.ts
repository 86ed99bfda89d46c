import { Readable } from 'node:stream'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Coordinator } from '../../src/master/coordinator.js'
import { ControlApi } from '../../src/master/control-api.js'
import { createLogger } from '../../src/shared/logger.js'
import { testPlan } from '../helpers/plans.js'

const logger = createLogger({ role: 'master', level: process.env.HORDE_TEST_LOG ?? 'silent' })
const TOKEN = 'control-test-token'

describe('control API hardening (a real master waiting for workers, a real HTTP server on port 0)', () => {
  let coordinator: Coordinator
  let api: ControlApi
  beforeAll(async () => {
    coordinator = await Coordinator.start({
      plan: testPlan({ expectWorkers: 2, users: 4, expectWorkersTimeoutMs: 60_000 }),
      bindHost: '127.0.0.1',
      bindPort: 0,
      logger,
    })
    api = await ControlApi.start({
      coordinator,
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      allowedHosts: ['horde-master.load.svc'],
      logger,
    })
  })
  afterAll(async () => {
    await api.close()
    await coordinator.close()
  })

  async function call(
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string> = {},
    body?: string | Buffer | Readable,
  ): Promise<{ status: number; json: { error?: string; phase?: string } }> {
    const response = await request(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...headers },
      ...(body !== undefined ? { body } : {}),
    })
    const text = await response.body.text()
    return { status: response.statusCode, json: JSON.parse(text) as { error?: string; phase?: string } }
  }
  const JSON_TYPE = { 'content-type': 'application/json' }

  it('accepts the bound address, IP literals, localhost and configured names in Host', async () => {
    for (const host of [
      `127.0.0.1:${api.port}`,
      `localhost:${api.port}`,
      'horde-master.load.svc',
      '[::1]:1',
    ]) {
      expect((await call('GET', '/status', { host })).status, host).toBe(200)
    }
  })

  it('takes the token in X-Horde-Token too (the Kubernetes service proxy keeps Authorization), and refuses a wrong one', async () => {
    const bare = async (headers: Record<string, string>): Promise<number> => {
      const response = await request(`${api.url}/status`, { headers })
      await response.body.dump()
      return response.statusCode
    }
    expect(await bare({ 'x-horde-token': TOKEN })).toBe(200)
    expect(await bare({ 'x-horde-token': 'wrong-token' })).toBe(401)
    expect(await bare({})).toBe(401)
  })

  it('refuses a DNS-rebinding Host with 403 and says how to allow a name', async () => {
    const { status, json } = await call('GET', '/status', { host: `evil.example:${api.port}` })
    expect(status).toBe(403)
    expect(json.error).toMatch(/Host "evil\.example:\d+" is not this master's address.*--api-allowed-hosts/)
  })

  it('refuses cross-origin browser requests', async () => {
    const { status, json } = await call('GET', '/status', { origin: 'http://evil.example' })
    expect(status).toBe(403)
    expect(json.error).toMatch(/cross-origin/)
  })

  it('behind a prefix-rewriting proxy: same-origin browser calls pass (Sec-Fetch-Site, or Origin = X-Forwarded-Host); others are refused and do not act', async () => {
    const proxied = { host: `127.0.0.1:${api.port}`, ...JSON_TYPE }
    // A current browser on the proxy's origin: Sec-Fetch-Site says same-origin whatever Host the proxy sent.
    const modern = await call('POST', '/pause', {
      ...proxied,
      origin: 'https://apiserver.example:6443',
      'sec-fetch-site': 'same-origin',
    })
    expect(modern.status).toBe(409) // past the guard and the token: the run is still waiting
    // An older browser (no Sec-Fetch-Site): Origin must match the host the proxy says it was called by.
    const older = await call('POST', '/pause', {
      ...proxied,
      origin: 'https://apiserver.example:6443',
      'x-forwarded-host': 'apiserver.example:6443, internal-lb:443',
    })
    expect(older.status).toBe(409)
    const others: Array<Record<string, string>> = [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      // Another port of the same machine is the same site, not the same origin.
      { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example', 'x-forwarded-host': 'apiserver.example:6443' },
      { origin: 'null' },
    ]
    for (const headers of others) {
      const refused = await call('POST', '/stop', { ...proxied, ...headers })
      expect(refused.status, JSON.stringify(headers)).toBe(403)
      expect(refused.json.error).toMatch(/cross-origin requests are refused/)
    }
    expect(coordinator.events.some((e) => e.kind === 'stop-requested')).toBe(false)
    // Typed into the address bar (Sec-Fetch-Site: none) and non-browser clients (neither header) pass.
    expect((await call('GET', '/status', { 'sec-fetch-site': 'none' })).status).toBe(200)
    expect((await call('GET', '/status')).status).toBe(200)
  })

  it('refuses a POST without a JSON content type (a browser form or text/plain) and does not act on it', async () => {
    const form = await call('POST', '/stop', { 'content-type': 'text/plain' }, '{"reason":"csrf"}')
    expect(form.status).toBe(415)
    const none = await call('POST', '/stop')
    expect(none.status).toBe(415)
    expect(coordinator.phase).toBe('waiting')
    expect(coordinator.events.some((e) => e.kind === 'stop-requested')).toBe(false)
  })

  it('a 10 MB body gives 413, with or without a content-length', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 0x20)
    const declared = await call('POST', '/target', JSON_TYPE, big)
    expect(declared.status).toBe(413)
    async function* chunked(): AsyncIterable<Buffer> {
      for (let i = 0; i < 160; i++) yield Buffer.alloc(64 * 1024, 0x20)
    }
    const streamed = await call('POST', '/target', JSON_TYPE, Readable.from(chunked())).catch(
      (error: unknown) => error,
    )
    // The server answers 413 and closes; depending on timing the client sees the answer or the close.
    if (streamed instanceof Error) expect(streamed.message).toMatch(/closed|reset|EPIPE|other side/i)
    else expect((streamed as { status: number }).status).toBe(413)
    expect((await call('GET', '/status')).status).toBe(200)
  })

  it('bounds users and rps by a sane maximum per worker × workers', async () => {
    const users = await call('POST', '/target', JSON_TYPE, JSON.stringify({ users: 1_000_000 }))
    expect(users.status).toBe(400)
    expect(users.json.error).toMatch(/users must be at most 40000 \(20000 per worker × 2\), received 1000000/)
    const rps = await call('POST', '/target', JSON_TYPE, JSON.stringify({ rps: 1e9 }))
    expect(rps.status).toBe(400)
    expect(rps.json.error).toMatch(/rps must be at most 100000/)
  })
})
