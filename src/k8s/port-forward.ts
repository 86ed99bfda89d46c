import { Duplex } from 'node:stream'
import { WebSocket, type Dispatcher } from 'undici'
import { KubeError } from '../shared/errors.js'

/**
 * One TCP connection to a pod's port through the API server (pods/{name}/portforward), as a Duplex that
 * node:http can use as its socket. For when the API server's service proxy cannot reach a pod (private GKE
 * clusters whose control plane has no route to pod IPs): the port-forward goes API server → kubelet → the
 * pod's network namespace, a path those clusters keep open for `kubectl port-forward`.
 *
 * The wire is the kubelet's WebSocket port-forward protocol, subprotocol `v4.channel.k8s.io`: every binary
 * message starts with a channel byte; per forwarded port a data channel (2n, read-write) and an error
 * channel (2n+1, the server's only); the first bytes the server sends on each channel are the port number
 * as an unsigned 16-bit little-endian integer. The kubelet closes the WebSocket once the pod side of the
 * connection ends, and writes why on the error channel when it could not connect. WebSocket framing itself
 * is undici's (already the Kubernetes client's HTTP stack, so the kubeconfig's CA and client certificate
 * apply unchanged); @kubernetes/client-node 2.x needs Node ≥ 22.
 */
export const PORT_FORWARD_PROTOCOL = 'v4.channel.k8s.io'

const DATA_CHANNEL = 0
const ERROR_CHANNEL = 1
const PORT_PREFIX_BYTES = 2

export interface PortForwardTarget {
  /** API server base URL (https://…). */
  server: string
  dispatcher: Dispatcher
  token: string | null
  namespace: string
  pod: string
  port: number
  /** Bounds the WebSocket handshake. */
  openTimeoutMs: number
}

const describe = (t: PortForwardTarget) => `port ${t.port} of pod ${t.namespace}/${t.pod}`

export function openPortForward(t: PortForwardTarget): Promise<Duplex> {
  const url = `${t.server.replace(/^http/, 'ws')}/api/v1/namespaces/${encodeURIComponent(t.namespace)}/pods/${encodeURIComponent(t.pod)}/portforward?ports=${t.port}`
  const ws = new WebSocket(url, {
    protocols: [PORT_FORWARD_PROTOCOL],
    dispatcher: t.dispatcher,
    headers: t.token === null ? {} : { authorization: `Bearer ${t.token}` },
  })
  ws.binaryType = 'arraybuffer'
  // Bytes of the port prefix still to drop, per channel.
  const prefixLeft = [PORT_PREFIX_BYTES, PORT_PREFIX_BYTES]
  let errorText = ''

  const socket = new Duplex({
    read: () => undefined,
    write(chunk: Buffer, _encoding, callback) {
      if (ws.readyState !== WebSocket.OPEN)
        return callback(new Error(`the port-forward to ${describe(t)} is closed`))
      const frame = Buffer.allocUnsafe(chunk.length + 1)
      frame[0] = DATA_CHANNEL
      chunk.copy(frame, 1)
      ws.send(frame)
      callback()
    },
    // v4 cannot half-close a channel: the connection ends when the pod side ends (or when we close it).
    final: (callback) => callback(),
    destroy(error, callback) {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close()
      callback(error)
    },
  })

  ws.addEventListener('message', (event) => {
    if (!(event.data instanceof ArrayBuffer)) return
    const frame = Buffer.from(event.data)
    const channel = frame[0]
    if (channel !== DATA_CHANNEL && channel !== ERROR_CHANNEL) return
    let payload = frame.subarray(1)
    const skip = Math.min(prefixLeft[channel] ?? 0, payload.length)
    if (skip > 0) {
      prefixLeft[channel] = (prefixLeft[channel] ?? 0) - skip
      payload = payload.subarray(skip)
    }
    if (payload.length === 0) return
    if (channel === DATA_CHANNEL) socket.push(payload)
    else errorText += payload.toString('utf8')
  })

  return new Promise<Duplex>((resolve, reject) => {
    let opened = false
    const timer = setTimeout(() => {
      ws.close()
      reject(
        new KubeError(
          'HORDE_ERR_K8S_PORT_FORWARD',
          `the port-forward to ${describe(t)} did not open within ${t.openTimeoutMs} ms.`,
        ),
      )
    }, t.openTimeoutMs)
    ws.addEventListener('open', () => {
      opened = true
      clearTimeout(timer)
      resolve(socket)
    })
    ws.addEventListener('close', () => {
      clearTimeout(timer)
      if (!opened) {
        // The handshake's HTTP status is not exposed by WebSocket: name the usual causes.
        reject(
          new KubeError(
            'HORDE_ERR_K8S_PORT_FORWARD',
            `the API server refused the port-forward to ${describe(t)}. The runner's identity needs RBAC "create" on pods/portforward in the namespace (roles/container.developer has it), and the pod must be running.`,
          ),
        )
        return
      }
      if (errorText !== '')
        socket.destroy(
          new KubeError(
            'HORDE_ERR_K8S_PORT_FORWARD',
            `the port-forward to ${describe(t)} failed: ${errorText}`,
          ),
        )
      else socket.push(null)
    })
  })
}
