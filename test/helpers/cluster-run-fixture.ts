import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeDatadogAgent, type FakeDatadogAgent } from './fake-datadog-agent.js'
import { startFakeKubeApi, type FakeKubeApi } from './fake-kube-api.js'
import { REPO_ROOT, freePort } from './processes.js'

/**
 * What actions/run-load-test's end-to-end tests run against: the loopback Kubernetes API (https, a kubeconfig
 * with its CA and token), which runs the rendered Job pods as real `horde master` / `horde worker` processes,
 * with the team's horde-secrets Secret in place, the GCS emulator as the report store and the node's Datadog
 * agent (loopback; the fake cluster's status.hostIP is 127.0.0.1, the overlay gives its ports). What differs from
 * a cluster: a test overlay moves the master's ports to free ones on 127.0.0.1 (the pods share this
 * machine's network), and the "image" is this checkout.
 */
export const IMAGE = 'registry.example/horde@sha256:' + 'a'.repeat(64)
export const NS = 'loadtest'
export const BUCKET = 'horde-action-reports'
export const API_TOKEN = 'control-api-token-for-tests-0123456789'
/** The workflow's commit (GITHUB_SHA): the version of an image pinned by digest. */
export const COMMIT = '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567'

export interface ClusterRunFixture {
  tmp: string
  kube: FakeKubeApi
  /** The node's Datadog agent the pods report to. */
  agent: FakeDatadogAgent
  /** The action's environment: KUBECONFIG, the manifests, the emulator, GITHUB_WORKSPACE. */
  env: NodeJS.ProcessEnv
  /** The action's inputs for a small run against `host`, with `extra` on top. */
  inputs(host: string, extra?: Record<string, string>): Record<string, string>
  jobsOfRun(runId: string): Array<{ metadata: { name: string } }>
  close(): Promise<void>
}

export async function startClusterRunFixture(emulatorHost: string): Promise<ClusterRunFixture> {
  const tmp = await mkdtemp(join(tmpdir(), 'horde-run-action-'))
  const [zmq, api] = [await freePort(), await freePort()]
  const agent = await startFakeDatadogAgent()
  // The repository's manifests plus an overlay that keeps the master on free loopback ports.
  const manifests = join(tmp, 'manifests')
  await cp(join(REPO_ROOT, 'manifests', 'base'), join(manifests, 'base'), { recursive: true })
  await mkdir(join(manifests, 'overlays', 'loopback'), { recursive: true })
  await writeFile(
    join(manifests, 'overlays', 'loopback', 'kustomization.yaml'),
    `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
configMapGenerator:
  - name: horde-run
    behavior: merge
    literals:
      - HORDE_MASTER_PORT=${zmq}
      - HORDE_API_PORT=${api}
      - HORDE_API_HOST=127.0.0.1
      - HORDE_MASTER_BIND_HOST=127.0.0.1
      - DD_TRACE_AGENT_PORT=${new URL(agent.traceUrl).port}
      - DD_DOGSTATSD_PORT=${agent.statsdPort}
patches:
  - target: { kind: Job, name: horde-master }
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/ports
        value: [{ name: zmq, containerPort: ${zmq} }, { name: control-api, containerPort: ${api} }]
`,
  )
  const out = join(tmp, 'out')
  await mkdir(out)
  let kube: FakeKubeApi | undefined
  try {
    kube = await startFakeKubeApi({
      tls: true,
      images: {
        [IMAGE]: {
          entrypoint: [process.execPath, join(REPO_ROOT, 'bin', 'horde.js')],
          // The image's own ENV (Dockerfile): outputs to a volume; here the store is the emulator.
          env: { HORDE_OUT: out, STORAGE_EMULATOR_HOST: emulatorHost, GCLOUD_PROJECT: 'demo-horde' },
        },
      },
    })
    await kube.writeKubeconfig(join(tmp, 'kubeconfig'), NS)
    // The team's Secret (created once per namespace, never in git): the master's control API token.
    await createSecretOverHttps(kube)
  } catch (error) {
    await kube?.close()
    await agent.close()
    await rm(tmp, { recursive: true, force: true })
    throw error
  }
  const k = kube
  return {
    tmp,
    kube: k,
    agent,
    env: {
      KUBECONFIG: join(tmp, 'kubeconfig'),
      HORDE_K8S_MANIFESTS: manifests,
      STORAGE_EMULATOR_HOST: emulatorHost,
      GCLOUD_PROJECT: 'demo-horde',
      GITHUB_WORKSPACE: tmp,
      GITHUB_SHA: COMMIT,
    },
    inputs: (host, extra = {}) => ({
      scenario: 'scenarios/demo.ts',
      pods: '2',
      parallelism: '2',
      'spawn-rate': '4',
      duration: '4s',
      host,
      image: IMAGE,
      namespace: NS,
      overlay: 'loopback',
      'report-store': `gs://${BUCKET}/reports`,
      'api-token': API_TOKEN,
      ...extra,
    }),
    jobsOfRun: (runId) => k.list('batch/v1/jobs', NS, `horde.dev/run-id=${runId}`),
    async close() {
      await k.close()
      await agent.close()
      await rm(tmp, { recursive: true, force: true })
    },
  }
}

async function createSecretOverHttps(k: FakeKubeApi): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request(
      `${k.url}/api/v1/namespaces/${NS}/secrets`,
      {
        method: 'POST',
        ca: k.caCert ?? undefined,
        headers: { authorization: `Bearer ${k.token}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume()
        res.on('end', () =>
          res.statusCode === 201 ? resolve() : reject(new Error(`secret: ${res.statusCode}`)),
        )
      },
    )
    req.on('error', reject)
    req.end(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'horde-secrets' },
        data: { 'api-token': Buffer.from(API_TOKEN).toString('base64') },
      }),
    )
  })
}
