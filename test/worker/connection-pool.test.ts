import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { MAX_CONNECTING_DEFAULT } from '../../src/worker/http/connection-pool.js'
import {
  RESERVED_FILE_DESCRIPTORS,
  defaultConnectionCap,
  openFilesLimit,
} from '../../src/worker/http/open-files-limit.js'
import { HttpTransport, UserHttpClient } from '../../src/worker/http/http-client.js'
import { RequestStats } from '../../src/worker/stats.js'
import { freePort } from '../helpers/processes.js'
import { startTargetServer, type TargetServer } from '../helpers/target-server.js'

let target: TargetServer
beforeAll(async () => {
  target = await startTargetServer()
})
afterAll(async () => {
  await target.close()
})

function client(baseUrl: string, connections: number | null) {
  const transport = new HttpTransport({ baseUrl, keepAlive: true, connections, timeoutMs: 5000, headers: {} })
  const stats = new RequestStats()
  return {
    http: new UserHttpClient(transport, stats, { aborted: false, scheduleLagMs: 0 }),
    stats,
    transport,
  }
}

describe('the connection pool', () => {
  it('opens a connection per concurrent request (up to 2,000 here), then reuses the last one used', async () => {
    const { http, transport } = client(target.url, null)
    const before = target.connections()
    const responses = await Promise.all(Array.from({ length: 2000 }, () => http.get('/delay/300')))
    expect(responses.every((r) => r.ok)).toBe(true)
    // Connections open 256 at a time: a request still waiting when another's response ended takes that
    // connection instead of opening one more, so the count lies between the pacing and one per request.
    const opened = target.connections() - before
    expect(opened).toBeGreaterThan(MAX_CONNECTING_DEFAULT)
    expect(opened).toBeLessThanOrEqual(2000)
    expect(transport.pool(new URL(target.url).origin).size).toBe(opened)
    const afterBurst = target.connections()
    for (let i = 0; i < 50; i++) expect((await http.get('/ok')).ok).toBe(true)
    expect(target.connections() - afterBurst).toBe(0)
    await transport.destroy()
  })

  it('opens at most 256 connections at a time, so thousands of users starting at once are no SYN storm', async () => {
    const { http, transport } = client(target.url, null)
    const before = target.connections()
    const responses = await Promise.all(Array.from({ length: 3000 }, () => http.get('/delay/200')))
    expect(responses.every((r) => r.ok)).toBe(true)
    const pool = transport.pool(new URL(target.url).origin)
    expect(target.connections() - before).toBe(pool.size)
    expect(pool.peakConnecting).toBe(MAX_CONNECTING_DEFAULT)
    expect(pool.opening).toBe(0)
    await transport.destroy()
  })

  it('caps connections per origin below the open-files limit when none is set, and says so once', async () => {
    const capped: Array<[string, number]> = []
    const transport = new HttpTransport({
      baseUrl: target.url,
      keepAlive: true,
      connections: null,
      timeoutMs: 5000,
      headers: {},
      connectionCap: 40,
      onConnectionCap: (origin, cap) => capped.push([origin, cap]),
    })
    const http = new UserHttpClient(transport, new RequestStats(), { aborted: false, scheduleLagMs: 0 })
    const before = target.connections()
    const responses = await Promise.all(Array.from({ length: 300 }, () => http.get('/delay/50')))
    expect(responses.every((r) => r.ok)).toBe(true)
    expect(target.connections() - before).toBe(40)
    expect(capped).toEqual([[new URL(target.url).origin, 40]])
    await transport.destroy()
  })

  it('reads the open-files limit as `ulimit -n` says, and keeps a reserve below it', () => {
    const ulimit = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()
    expect(openFilesLimit()).toBe(ulimit === 'unlimited' ? null : Number(ulimit))
    expect(defaultConnectionCap(20_000)).toBe(20_000 - RESERVED_FILE_DESCRIPTORS)
    expect(defaultConnectionCap(256)).toBe(64)
    expect(defaultConnectionCap(null)).toBeNull()
  })

  it('hands the connection back after a timeout and after a refused connection, so the next request runs', async () => {
    const { http, stats, transport } = client(target.url, 1)
    const late = await http.get('/delay/2000', { timeout: '100ms' })
    expect(late.ok).toBe(false)
    expect(late.error).toMatch(/within 100 ms/)
    // With one connection, this would wait forever had the timed-out request kept it.
    const next = await http.get('/ok')
    expect(next.ok).toBe(true)
    await transport.destroy()

    const closedPort = await freePort()
    const refused = client(`http://127.0.0.1:${closedPort}`, 1)
    const first = await refused.http.get('/ok')
    const second = await refused.http.get('/ok')
    expect([first.ok, second.ok]).toEqual([false, false])
    expect(second.error).toMatch(/ECONNREFUSED/)
    await refused.transport.destroy()
    expect(stats.takeDelta().statsTotal.numRequests).toBe(2)
  })

  it('queues requests beyond maxConnections and fails them all when destroyed', async () => {
    const { http, transport } = client(target.url, 1)
    // 20 s at the target against a 10 s bound: a destroy that waited for the response cannot pass on any machine.
    const inFlight = http.get('/delay/20000')
    const waiting = http.get('/ok')
    await new Promise((r) => setTimeout(r, 100))
    const destroyedAt = performance.now()
    await transport.destroy()
    const [a, b] = await Promise.all([inFlight, waiting])
    expect(performance.now() - destroyedAt).toBeLessThan(10_000)
    expect([a.ok, b.ok]).toEqual([false, false])
    expect(b.error).toMatch(/destroyed/)
  })
})
