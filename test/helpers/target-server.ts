import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A loopback HTTP target that counts what it served, so tests can compare a master's totals with the
 * truth. A request counts once its response has been fully written.
 *   GET /ok            200, 100-byte body
 *   GET /fail          500
 *   GET /delay/<ms>    200 after <ms> milliseconds
 *   GET /json          200 {"ok":true,"items":[1,2,3]}
 *   POST /echo         200, echoes the body and content-type
 *   anything else      404
 */
export interface TargetServer {
  url: string
  port: number
  /** Served responses by "METHOD /path" (path without query). */
  counts(): Map<string, number>
  total(): number
  /** Requests that arrived per wall-clock second (epoch s). */
  arrivalsPerSecond(): Map<number, number>
  /** Connections the server accepted. */
  connections(): number
  lastRequest(): { method: string; url: string; headers: IncomingMessage['headers']; body: string } | null
  /** Holds every response (new and in flight) until `ms` from now: a target that stalls once. */
  stallFor(ms: number): void
  close(): Promise<void>
}

const SMALL_BODY = 'x'.repeat(100)

export async function startTargetServer(): Promise<TargetServer> {
  const counts = new Map<string, number>()
  const arrivals = new Map<number, number>()
  let total = 0
  let connections = 0
  let last: ReturnType<TargetServer['lastRequest']> = null
  let stalledUntil = 0
  const served = (req: IncomingMessage, res: ServerResponse): void => {
    res.on('finish', () => {
      const key = `${req.method} ${(req.url ?? '/').split('?')[0]}`
      counts.set(key, (counts.get(key) ?? 0) + 1)
      total++
    })
  }
  const server = createServer((req, res) => {
    const second = Math.floor(Date.now() / 1000)
    arrivals.set(second, (arrivals.get(second) ?? 0) + 1)
    served(req, res)
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const stallMs = stalledUntil - Date.now()
      if (stallMs > 0) {
        setTimeout(() => req.emit('end'), stallMs)
        return
      }
      const path = (req.url ?? '/').split('?')[0] ?? '/'
      last = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      }
      if (path === '/ok') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(SMALL_BODY)
      } else if (path === '/fail') {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('boom')
      } else if (path.startsWith('/delay/')) {
        const ms = Number(path.slice('/delay/'.length))
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow'), ms)
      } else if (path === '/json') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ ok: true, items: [1, 2, 3] }))
      } else if (path === '/echo') {
        res
          .writeHead(200, { 'content-type': req.headers['content-type'] ?? 'text/plain', 'x-echo': 'yes' })
          .end(Buffer.concat(chunks))
      } else {
        res.writeHead(404).end('not found')
      }
    })
  })
  server.keepAliveTimeout = 60_000
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    counts: () => new Map(counts),
    total: () => total,
    arrivalsPerSecond: () => new Map(arrivals),
    connections: () => connections,
    lastRequest: () => last,
    stallFor: (ms) => {
      stalledUntil = Date.now() + ms
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
