import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'node:https'
import { promisify } from 'node:util'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/fake-kube-api.js'
import type { KubeObject } from '../helpers/fake-kube/store.js'
import { REPO_ROOT, waitFor } from '../helpers/processes.js'

// The Stop load test workflow's script with the real kubectl against the loopback Kubernetes API (https:
// kubectl sends a kubeconfig's token only over TLS). The master's stop through a port-forward needs SPDY,
// which the fake does not speak; this covers a run whose master is gone: its Jobs must still be deleted.

const run = promisify(execFile)
const IMAGE = 'registry.example/horde:test'
let kube: FakeKubeApi
let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'horde-stop-'))
  kube = await startFakeKubeApi({
    images: { [IMAGE]: { entrypoint: [process.execPath, 'test/fixtures/fake-pod.mjs'] } },
    tls: true,
  })
  await kube.writeKubeconfig(join(dir, 'kubeconfig'), 'horde')
})
afterEach(async () => {
  await kube.close()
  await rm(dir, { recursive: true, force: true })
})

function workerJob(runId: string): KubeObject {
  const labels = { 'horde.dev/run-id': runId, 'horde.dev/role': 'worker' }
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `horde-worker-${runId}`, labels },
    spec: {
      completionMode: 'Indexed',
      completions: 2,
      parallelism: 2,
      backoffLimit: 0,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 2,
          containers: [{ name: 'horde', image: IMAGE, env: [{ name: 'MODE', value: 'sleep' }] }],
        },
      },
    },
  }
}

/** Creates a Job over https, trusting the fake's own certificate. */
async function create(job: KubeObject): Promise<void> {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      `${kube.url}/apis/batch/v1/namespaces/horde/jobs`,
      {
        method: 'POST',
        ca: kube.caCert ?? undefined,
        headers: { authorization: `Bearer ${kube.token}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify(job))
  })
  expect(status).toBe(201)
}

it("deletes the run's Jobs in the foreground (no pod left running) and leaves other runs alone", async () => {
  await create(workerJob('gh-7-1'))
  await create(workerJob('gh-8-1'))
  await waitFor(() => kube.runningPids().length === 4, 15_000, 'four worker processes')

  const { stdout } = await run('bash', ['scripts/stop-load-test.sh'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      KUBECONFIG: join(dir, 'kubeconfig'),
      RUN_ID: 'gh-7-1',
      NAMESPACE: 'horde',
    },
    timeout: 60_000,
  })
  expect(stdout).toContain('no master Service for run gh-7-1 in horde')
  expect(stdout).toContain('job.batch "horde-worker-gh-7-1" deleted')
  // Foreground and --wait: when the script returns, the run's pods are gone, not just its Job.
  expect(kube.list('batch/v1/jobs', 'horde', 'horde.dev/run-id=gh-7-1')).toEqual([])
  expect(kube.list('v1/pods', 'horde', 'horde.dev/run-id=gh-7-1')).toEqual([])
  expect(kube.list('v1/pods', 'horde', 'horde.dev/run-id=gh-8-1')).toHaveLength(2)
  expect(kube.runningPids()).toHaveLength(2)
  expect(
    kube.requests.some((r) =>
      r.startsWith('DELETE /apis/batch/v1/namespaces/horde/jobs/horde-worker-gh-7-1'),
    ),
  ).toBe(true)
})
