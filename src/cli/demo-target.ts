import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface DemoTargetOptions {
  /** Interface to bind; loopback by default (load only ever goes to loopback in demos and tests). */
  host?: string
  port?: number
  /** Extra server time per request, ms, uniformly in [min, max]: makes percentiles worth looking at. */
  delayMs?: { min: number; max: number }
  /** Fail this share of votes with HTTP 500 (0 by default). */
  voteFailureRate?: number
}

export interface DemoTarget {
  readonly url: string
  readonly port: number
  /** Requests answered, by `${method} ${path}`, counted when the response is finished. */
  readonly served: Map<string, number>
  servedTotal(): number
  close(): Promise<void>
}

/**
 * The bundled demo target: a tiny vote app like the ones field teams test (GET /results, POST /vote). It counts
 * every response it finished so tests and the demo can check that the master's totals equal what was served.
 */
export async function startDemoTarget(options: DemoTargetOptions = {}): Promise<DemoTarget> {
  const votes: Record<string, number> = { a: 0, b: 0 }
  const served = new Map<string, number>()
  const delay = options.delayMs ?? { min: 0, max: 0 }
  const failureRate = options.voteFailureRate ?? 0

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const key = `${req.method ?? 'GET'} ${path}`
    res.on('finish', () => served.set(key, (served.get(key) ?? 0) + 1))
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const wait = delay.min + Math.random() * (delay.max - delay.min)
      setTimeout(() => respond(req.method ?? 'GET', path, Buffer.concat(chunks).toString('utf8'), res), wait)
    })
  })

  function respond(
    method: string,
    path: string,
    body: string,
    res: import('node:http').ServerResponse,
  ): void {
    if (method === 'GET' && path === '/results') {
      const text = JSON.stringify(votes)
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      res.end(text)
      return
    }
    if (method === 'POST' && (path === '/vote' || path === '/')) {
      const choice = new URLSearchParams(body).get('vote') ?? (body.includes('"b"') ? 'b' : 'a')
      if (Math.random() < failureRate) {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end('vote store unavailable')
        return
      }
      votes[choice === 'b' ? 'b' : 'a'] = (votes[choice === 'b' ? 'b' : 'a'] ?? 0) + 1
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('thanks')
      return
    }
    if (method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(
        '<h1>Cats or dogs?</h1><form method="post" action="/vote"><button name="vote" value="a">Cats</button></form>',
      )
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found')
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  server.keepAliveTimeout = 30_000
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    served,
    servedTotal: () => [...served.values()].reduce((a, b) => a + b, 0),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
