import { request } from 'node:http'
import type { KubeClient, KubeObject } from './kube-client.js'
import { isRunning } from './pod-health.js'

/**
 * The second way to ask a master to stop, for clusters whose API server cannot proxy to pods (private GKE):
 * `POST /stop` over a port-forward to the master pod's control API port, with the token as the control API
 * expects it everywhere else (Authorization: Bearer), since nothing sits between us and the pod here.
 */

/** How long the port-forward and the master's answer may take: a cancel has about 10 s in all. */
const PORT_FORWARD_OPEN_MS = 3000
const ANSWER_MS = 3000

type ServicePort = { name?: string; port: number; targetPort?: number | string }
type ContainerPorts = Array<{ ports?: Array<{ name?: string; containerPort: number }> }>

/** The container port a Service port leads to on this pod (a named targetPort is looked up in its containers). */
export function containerPortOf(pod: KubeObject, port: ServicePort): number | undefined {
  const target = port.targetPort ?? port.port
  if (typeof target === 'number') return target
  if (/^\d+$/.test(target)) return Number(target)
  return ((pod.spec?.containers ?? []) as ContainerPorts)
    .flatMap((c) => c.ports ?? [])
    .find((p) => p.name === target)?.containerPort
}

export async function stopThroughPortForward(
  client: KubeClient,
  namespace: string,
  masterPods: KubeObject[],
  port: ServicePort,
  token: string | null,
  reason: string,
): Promise<{ status: number; text: string; pod: string }> {
  const pod = masterPods.find((p) => isRunning(p) && p.metadata.deletionTimestamp === undefined)
  if (pod === undefined) throw new Error('no running master pod to port-forward to')
  const containerPort = containerPortOf(pod, port)
  if (containerPort === undefined)
    throw new Error(
      `the master pod ${pod.metadata.name} has no container port named ${String(port.targetPort)}`,
    )
  const socket = await client.portForward(namespace, pod.metadata.name, containerPort, PORT_FORWARD_OPEN_MS)
  const body = JSON.stringify({ reason })
  try {
    return await new Promise((resolve, reject) => {
      const req = request(
        {
          // node:http over the tunnel: the Duplex is the connection; one request, then it is closed.
          createConnection: () => socket,
          method: 'POST',
          path: '/stop',
          headers: {
            host: `localhost:${containerPort}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            connection: 'close',
            ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          },
          signal: AbortSignal.timeout(ANSWER_MS),
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            if (text.length < 1000) text += chunk
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, pod: pod.metadata.name }))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  } finally {
    socket.destroy()
  }
}
