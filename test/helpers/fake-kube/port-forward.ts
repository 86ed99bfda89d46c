import type { IncomingMessage } from 'node:http'
import { connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { status } from './rest.js'
import type { Store } from './store.js'

/**
 * pods/{name}/portforward as the API server and kubelet answer a WebSocket client (kubelet
 * pkg/kubelet/cri/streaming/portforward/websocket.go): subprotocol `v4.channel.k8s.io` (or none), binary
 * messages whose first byte is the channel, per `ports=` entry a data channel 2i and an error channel 2i+1,
 * the port as uint16 little-endian first on both, one TCP connection per port to the pod (here 127.0.0.1,
 * where the pod's process listens), the error written on the error channel when that connection fails, and
 * the WebSocket closed once every connection has ended. WebSocket framing is the `ws` package's.
 */
export const PORT_FORWARD_PATH = /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/pods\/([a-z0-9.-]+)\/portforward$/

const PROTOCOLS = ['v4.channel.k8s.io', 'channel.k8s.io']

export interface PortForwardServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, authorized: boolean): void
  close(): void
}

export function createPortForwardServer(store: Store, record: (line: string) => void): PortForwardServer {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  })
  const live = new Set<WebSocket>()

  const refuse = (socket: Duplex, code: number, reason: string, message: string) => {
    const body = JSON.stringify(status(code, reason, message))
    socket.end(
      `HTTP/1.1 ${code} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    )
  }

  function forward(ws: WebSocket, ns: string, pod: string, uid: string, ports: number[]): void {
    live.add(ws)
    const sockets: Socket[] = []
    let open = ports.length
    const frame = (channel: number, data: Buffer | string) =>
      ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]))
    ports.forEach((port, i) => {
      const prefix = Buffer.from([port & 0xff, port >> 8])
      frame(2 * i, prefix)
      frame(2 * i + 1, prefix)
      const socket = connect(port, '127.0.0.1')
      sockets[i] = socket
      socket.on('data', (data) => frame(2 * i, data))
      socket.on('error', (error) =>
        frame(2 * i + 1, `error forwarding port ${port} to pod ${ns}/${pod}, uid ${uid}: ${error.message}`),
      )
      socket.on('close', () => {
        if (--open === 0) ws.close(1000)
      })
    })
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary || data.length === 0) return
      const channel = data[0] ?? 255
      // Only data channels are the client's to write; the kubelet ignores anything else.
      if (channel % 2 === 0) sockets[channel / 2]?.write(data.subarray(1))
    })
    ws.on('close', () => {
      live.delete(ws)
      for (const s of sockets) s.destroy()
    })
  }

  return {
    handleUpgrade(req, socket, head, authorized) {
      const url = new URL(req.url ?? '/', 'http://fake')
      record(`${req.method} ${url.pathname}${url.search}`)
      if (!authorized) return refuse(socket, 401, 'Unauthorized', 'Unauthorized')
      const m = PORT_FORWARD_PATH.exec(url.pathname)
      if (m === null) return refuse(socket, 404, 'NotFound', `the server could not find ${url.pathname}`)
      const [, ns = '', name = ''] = m
      const pod = store.get('v1/pods', ns, name)
      if (pod === undefined) return refuse(socket, 404, 'NotFound', `pods "${name}" not found`)
      if (pod.status?.phase !== 'Running')
        return refuse(socket, 400, 'BadRequest', `pod ${name} is not running (${String(pod.status?.phase)})`)
      const ports = url.searchParams
        .getAll('ports')
        .flatMap((p) => p.split(','))
        .map(Number)
      if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))
        return refuse(socket, 400, 'BadRequest', `query parameter "ports" is required and must be ports`)
      wss.handleUpgrade(req, socket, head, (ws) => forward(ws, ns, name, pod.metadata.uid ?? '', ports))
    },
    close() {
      for (const ws of live) ws.terminate()
      wss.close()
    },
  }
}
