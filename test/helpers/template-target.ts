import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * The loopback services the scenario templates (templates/*.ts) are written against, so the test suite can
 * run every template as a user's copy would run: a small JSON API and shop (http-api, open-model, user-flow)
 * and a TCP line server answering PING with PONG (custom-protocol). Counts what it served.
 *   GET  /api/items?page=N        200 {"items":[...]}
 *   GET  /api/items/<id>          200 {"id":...}
 *   POST /api/items               201
 *   POST /login                   200 {"token":...}
 *   GET  /products                200 {"products":[...]}   (Bearer token required, else 401)
 *   POST /cart/items              200                      (Bearer token required)
 *   POST /checkout                201                      (Bearer token required)
 */
export interface TemplateTarget {
  url: string
  /** host:port of the TCP PING server. */
  tcpAddress: string
  /** Responses served, by "METHOD /path" with ids folded to [id]; TCP answers under "TCP PING". */
  counts(): Map<string, number>
  close(): Promise<void>
}

export async function startTemplateTarget(): Promise<TemplateTarget> {
  const counts = new Map<string, number>()
  const tokens = new Set<string>()
  const count = (key: string): void => {
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }
  const authorized = (req: IncomingMessage): boolean =>
    tokens.has((req.headers.authorization ?? '').replace(/^Bearer /, ''))

  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const key = `${req.method ?? ''} ${path.replace(/\/\d+$/, '/[id]')}`
    res.on('finish', () => count(key))
    req.resume()
    req.on('end', () => {
      if (req.method === 'GET' && path === '/api/items') {
        send(res, 200, { items: [1, 2, 3].map((id) => ({ id, title: `item ${id}` })) })
      } else if (req.method === 'GET' && /^\/api\/items\/\d+$/.test(path)) {
        send(res, 200, { id: Number(path.split('/').at(-1)), title: 'an item' })
      } else if (req.method === 'POST' && path === '/api/items') {
        send(res, 201, { id: 101 })
      } else if (req.method === 'POST' && path === '/login') {
        const token = `t${tokens.size + 1}`
        tokens.add(token)
        send(res, 200, { token })
      } else if (!authorized(req) && ['/products', '/cart/items', '/checkout'].includes(path)) {
        send(res, 401, { error: 'log in first' })
      } else if (req.method === 'GET' && path === '/products') {
        send(res, 200, { products: [{ id: 'p1' }, { id: 'p2' }] })
      } else if (req.method === 'POST' && path === '/cart/items') {
        send(res, 200, { ok: true })
      } else if (req.method === 'POST' && path === '/checkout') {
        send(res, 201, { orderId: 'o1' })
      } else {
        send(res, 404, { error: 'not found' })
      }
    })
  })
  const tcp: TcpServer = createTcpServer((socket) => {
    let buffered = ''
    socket.setEncoding('utf8')
    socket.on('error', () => socket.destroy())
    socket.on('data', (chunk: string) => {
      buffered += chunk
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const line = buffered.slice(0, end)
        buffered = buffered.slice(end + 1)
        socket.write(line === 'PING' ? 'PONG\n' : 'ERR\n')
        count(`TCP ${line}`)
      }
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
  const sockets = new Set<import('node:net').Socket>()
  tcp.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    tcpAddress: `127.0.0.1:${(tcp.address() as AddressInfo).port}`,
    counts: () => new Map(counts),
    close: async () => {
      http.closeAllConnections()
      for (const s of sockets) s.destroy()
      await Promise.all([
        new Promise<void>((resolve) => http.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ])
    },
  }
}
