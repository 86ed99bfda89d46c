import { mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createKubeClient, type KubeClient } from '../../src/k8s/kube-client.js'
import { loadKubeAccess } from '../../src/k8s/kubeconfig.js'
import { KubeError } from '../../src/shared/errors.js'
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/fake-kube-api.js'
import { freePort, waitFor } from '../helpers/processes.js'

// pods/{name}/portforward over WebSocket (v4.channel.k8s.io): first the fake API's side of the wire, read
// frame by frame with the `ws` package, so the action's tests run against the kubelet's protocol and not
// just against our own client; then our client (src/k8s/port-forward.ts, undici's WebSocket, the
// kubeconfig's CA and token) carrying an HTTP exchange, and a refused connection as a clear error.

const NS = 'horde'
const IMAGE = 'registry.example/horde:test'
let kube: FakeKubeApi
let dir: string
let client: KubeClient
let port: number
let pod: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'horde-port-forward-'))
  kube = await startFakeKubeApi({
    tls: true,
    images: { [IMAGE]: { entrypoint: [process.execPath, 'test/fixtures/fake-pod.mjs'] } },
  })
  await kube.writeKubeconfig(join(dir, 'kubeconfig'), NS)
  client = createKubeClient(loadKubeAccess(join(dir, 'kubeconfig')))
  port = await freePort()
  await client.apply(
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'horde-master-pf' },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'master',
                image: IMAGE,
                env: [
                  { name: 'MODE', value: 'serve' },
                  { name: 'PORT', value: String(port) },
                ],
              },
            ],
          },
        },
      },
    },
    NS,
  )
  await waitFor(
    () => kube.list('v1/pods', NS, 'job-name=horde-master-pf')[0]?.status?.phase === 'Running',
    10_000,
    'the pod to run',
  )
  pod = kube.list('v1/pods', NS, 'job-name=horde-master-pf')[0]?.metadata.name ?? ''
  // Running is not listening yet: wait for the pod's own line.
  for (let i = 0; i < 100; i++) {
    let text = ''
    await client
      .followLogs(NS, pod, 'master', (l) => (text += l), AbortSignal.timeout(200))
      .catch(() => undefined)
    if (text.includes(`listening on ${port}`)) return
  }
  throw new Error('the pod never listened')
})
afterEach(async () => {
  await client?.close()
  await kube?.close()
  await rm(dir, { recursive: true, force: true })
})

/** One HTTP exchange over a tunnel, as stop-port-forward.ts does it. */
function post(socket: Duplex, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        createConnection: () => socket,
        method: 'POST',
        path,
        headers: { authorization: 'Bearer control-token', connection: 'close' },
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', reject)
    req.end('{}')
  })
}

describe('pods/portforward over WebSocket', () => {
  it("the fake API speaks the kubelet's v4 wire: the port little-endian first on the data and error channels, then the pod's bytes on channel 0", async () => {
    const ws = new WebSocket(
      `${kube.url.replace(/^https/, 'wss')}/api/v1/namespaces/${NS}/pods/${pod}/portforward?ports=${port}`,
      ['v4.channel.k8s.io'],
      { ca: kube.caCert ?? undefined, headers: { authorization: `Bearer ${kube.token}` } },
    )
    const frames: Buffer[] = []
    ws.on('message', (data: Buffer) => frames.push(data))
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    expect(ws.protocol).toBe('v4.channel.k8s.io')
    const request = Buffer.from('GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    ws.send(Buffer.concat([Buffer.from([0]), request]))
    await new Promise((resolve) => ws.once('close', resolve))
    const prefix = Buffer.from([port & 0xff, port >> 8])
    expect(frames[0]).toEqual(Buffer.concat([Buffer.from([0]), prefix]))
    expect(frames[1]).toEqual(Buffer.concat([Buffer.from([1]), prefix]))
    const data = Buffer.concat(frames.slice(2).map((f) => (f[0] === 0 ? f.subarray(1) : Buffer.alloc(0))))
    expect(data.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*"url":"\/status"/)
  })

  it('our client carries an HTTP exchange through the tunnel to the pod, the Authorization reaching the pod', async () => {
    const socket = await client.portForward(NS, pod, port, 3000)
    const answer = await post(socket, '/stop')
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body)).toMatchObject({
      method: 'POST',
      url: '/stop',
      authorization: 'Bearer control-token',
    })
    expect(kube.requests).toContain(`GET /api/v1/namespaces/${NS}/pods/${pod}/portforward?ports=${port}`)
  })

  it("a port nobody listens on: the kubelet's message on the error channel becomes a KubeError naming pod and port", async () => {
    const closed = await freePort()
    const socket = await client.portForward(NS, pod, closed, 3000)
    const error = await post(socket, '/stop').then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(KubeError)
    expect((error as KubeError).code).toBe('HORDE_ERR_K8S_PORT_FORWARD')
    expect((error as Error).message).toMatch(
      new RegExp(
        `port-forward to port ${closed} of pod ${NS}/${pod} failed: error forwarding port ${closed} to pod .*ECONNREFUSED`,
      ),
    )
  })

  it('a pod that does not exist: the refused upgrade is an error that names the RBAC and the pod', async () => {
    await expect(client.portForward(NS, 'no-such-pod', port, 3000)).rejects.toThrow(
      /refused the port-forward to port \d+ of pod horde\/no-such-pod\. .*pods\/portforward/,
    )
  })
})
