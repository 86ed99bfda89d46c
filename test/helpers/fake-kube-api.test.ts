import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startFakeKubeApi, type FakeKubeApi } from './fake-kube-api.js'
import type { KubeObject } from './fake-kube/store.js'
import { freePort, waitFor } from './processes.js'

// The loopback Kubernetes API the run-load-test action will be tested against, exercised over raw HTTP with
// the paths, content types and bodies a Kubernetes client sends.

const NS = 'horde'
const IMAGE = 'registry.example/horde:test'
let kube: FakeKubeApi

beforeEach(async () => {
  kube = await startFakeKubeApi({
    images: { [IMAGE]: { entrypoint: [process.execPath, 'test/fixtures/fake-pod.mjs'] } },
  })
})
afterEach(async () => {
  await kube.close()
})

async function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; json: Answer }> {
  const res = await fetch(`${kube.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${kube.token}`,
      'content-type': contentType,
      accept: 'application/json',
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  const text = await res.text()
  return {
    status: res.status,
    json: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as Answer,
  }
}

const apply = (path: string, obj: KubeObject) =>
  call(
    'PATCH',
    `${path}/${obj.metadata.name}?fieldManager=horde&force=true`,
    obj,
    'application/apply-patch+yaml',
  )

function job(
  name: string,
  env: Array<Record<string, unknown>>,
  extra: Record<string, unknown> = {},
  podExtra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      labels: { 'horde.dev/run-id': 'r1', 'horde.dev/role': name.includes('master') ? 'master' : 'worker' },
    },
    spec: {
      backoffLimit: 0,
      ...extra,
      template: {
        metadata: {
          labels: {
            'horde.dev/run-id': 'r1',
            'horde.dev/role': name.includes('master') ? 'master' : 'worker',
          },
        },
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 2,
          containers: [{ name: 'horde', image: IMAGE, env, ...podExtra }],
        },
      },
    },
  }
}

const jobPath = `/apis/batch/v1/namespaces/${NS}/jobs`
const podPath = `/api/v1/namespaces/${NS}/pods`
const condition = (j: KubeObject | undefined): string | undefined =>
  ((j?.status?.conditions ?? []) as Array<{ type: string; reason?: string }>).map(
    (c) => `${c.type}${c.reason ? `:${c.reason}` : ''}`,
  )[0]
async function waitForLog(pod: string, text: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const logs = await call('GET', `${podPath}/${pod}/log`)
    if (logs.status === 200 && typeof logs.json === 'string' && logs.json.includes(text)) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`pod ${pod} never logged ${text}`)
}
type Answer = string | Record<string, unknown>
type Terminated = { exitCode: number; reason: string; message?: string }
type ContainerState = {
  waiting?: { reason: string; message: string }
  running?: unknown
  terminated?: Terminated
}
const templateOf = (j: KubeObject) =>
  (j.spec as { template: { spec: { restartPolicy: string; containers: Array<{ image: string }> } } }).template
    .spec
const podsOf = (name: string) => kube.list('v1/pods', NS, `job-name=${name}`)
const state = (p: KubeObject | undefined) =>
  ((p?.status?.containerStatuses ?? []) as Array<{ state: ContainerState }>)[0]?.state

describe('fake Kubernetes API', () => {
  it('refuses a request without the bearer token, with a Status object', async () => {
    const res = await fetch(`${kube.url}${jobPath}`)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Unauthorized',
      code: 401,
    })
  })

  it('runs an Indexed Job applied server-side: env, envFrom, $(VAR), index, Service name → loopback, termination message; a watch sees it complete', async () => {
    expect(
      (
        await apply(`/api/v1/namespaces/${NS}/configmaps`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'run-r1' },
          data: { HORDE_RUN_ID: 'r1' },
        })
      ).status,
    ).toBe(201)
    expect(
      (
        await apply(`/api/v1/namespaces/${NS}/services`, {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'horde-master-r1' },
          spec: { selector: { 'horde.dev/role': 'master' }, ports: [{ name: 'zmq', port: 5557 }] },
        })
      ).status,
    ).toBe(201)
    const worker = job(
      'horde-worker-r1',
      [
        { name: 'MODE', value: 'complete' },
        { name: 'MASTER_ADDR', value: 'tcp://horde-master-r1.horde.svc.cluster.local:5557' },
        { name: 'TERMINATION_PATH', value: '/dev/termination-log' },
      ],
      { completionMode: 'Indexed', completions: 3, parallelism: 3 },
      {
        envFrom: [{ configMapRef: { name: 'run-r1' } }],
        args: ['--run', '$(HORDE_RUN_ID)', '$$(HORDE_RUN_ID)'],
      },
    )
    const watch = await fetch(`${kube.url}${jobPath}?watch=true&labelSelector=horde.dev%2Frole%3Dworker`, {
      headers: { authorization: `Bearer ${kube.token}` },
      signal: AbortSignal.timeout(20_000),
    })
    const created = await apply(jobPath, worker)
    expect(created.status).toBe(201)
    const events: Array<{ type: string; object: KubeObject }> = []
    const decoder = new TextDecoder()
    let buffered = ''
    for await (const chunk of watch.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk)
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      events.push(...lines.map((l) => JSON.parse(l) as { type: string; object: KubeObject }))
      if (events.some((e) => condition(e.object) === 'Complete')) break
    }
    expect(events[0]?.type).toBe('ADDED')
    const last = events.at(-1)?.object
    expect(last?.status).toMatchObject({ succeeded: 3, failed: 0, active: 0, completedIndexes: '0-2' })
    const pods = podsOf('horde-worker-r1').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    expect(pods.map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'])).toEqual([
      '0',
      '1',
      '2',
    ])
    for (const [i, pod] of pods.entries()) {
      expect(pod.status?.phase).toBe('Succeeded')
      expect(state(pod)?.terminated).toMatchObject({
        exitCode: 0,
        reason: 'Completed',
        message: JSON.stringify({ index: String(i), verdict: 'pass' }),
      })
      const logs = await call('GET', `${podPath}/${pod.metadata.name}/log`)
      expect(logs.json).toContain(
        `index=${i} master=tcp://127.0.0.1:5557 args=--run r1 $(HORDE_RUN_ID) run=r1 hostname=${pod.metadata.name}`,
      )
    }
  })

  it('a failing pod fails the Job past backoffLimit; FallbackToLogsOnError puts the log tail in the message', async () => {
    await apply(
      jobPath,
      job(
        'horde-worker-bad',
        [
          { name: 'MODE', value: 'complete' },
          { name: 'EXIT_CODE', value: '3' },
        ],
        {},
        { terminationMessagePolicy: 'FallbackToLogsOnError' },
      ),
    )
    await waitFor(
      () => condition(kube.get('batch/v1/jobs', NS, 'horde-worker-bad')) !== undefined,
      10_000,
      'the job to end',
    )
    expect(condition(kube.get('batch/v1/jobs', NS, 'horde-worker-bad'))).toBe('Failed:BackoffLimitExceeded')
    const [pod] = podsOf('horde-worker-bad')
    expect(pod?.status?.phase).toBe('Failed')
    expect(state(pod)?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' })
    expect(state(pod)?.terminated?.message).toContain('failing with 3')
  })

  it('plays infrastructure failures: unknown image, unschedulable, OOMKilled', async () => {
    const bad = job('horde-worker-pull', [{ name: 'MODE', value: 'sleep' }])
    templateOf(bad).containers[0]!.image = 'registry.example/horde:missing'
    await apply(jobPath, bad)
    await waitFor(
      () => state(podsOf('horde-worker-pull')[0])?.waiting?.reason === 'ImagePullBackOff',
      5000,
      'ImagePullBackOff',
    )
    expect(state(podsOf('horde-worker-pull')[0])?.waiting?.message).toBe(
      'Back-off pulling image "registry.example/horde:missing"',
    )

    kube.injectFault({ 'job-name': 'horde-worker-big' }, { kind: 'Unschedulable' })
    await apply(jobPath, job('horde-worker-big', [{ name: 'MODE', value: 'sleep' }]))
    await waitFor(
      () =>
        (podsOf('horde-worker-big')[0]?.status?.conditions as Array<{ reason?: string }> | undefined)?.[0]
          ?.reason === 'Unschedulable',
      5000,
      'Unschedulable',
    )
    expect(podsOf('horde-worker-big')[0]?.status?.phase).toBe('Pending')

    kube.injectFault({ 'job-name': 'horde-worker-oom' }, { kind: 'OOMKilled', afterMs: 300 })
    await apply(jobPath, job('horde-worker-oom', [{ name: 'MODE', value: 'sleep' }]))
    await waitFor(() => podsOf('horde-worker-oom')[0]?.status?.phase === 'Failed', 10_000, 'the OOM kill')
    expect(state(podsOf('horde-worker-oom')[0])?.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
    })
    expect(condition(kube.get('batch/v1/jobs', NS, 'horde-worker-oom'))).toBe('Failed:BackoffLimitExceeded')
  })

  it('streams pod logs with follow=true until the process ends', async () => {
    await apply(
      jobPath,
      job('horde-master-ticks', [
        { name: 'MODE', value: 'ticks' },
        { name: 'TICKS', value: '8' },
      ]),
    )
    await waitFor(
      () => podsOf('horde-master-ticks')[0]?.status?.phase === 'Running',
      10_000,
      'the pod to run',
    )
    const name = podsOf('horde-master-ticks')[0]?.metadata.name ?? ''
    const res = await fetch(`${kube.url}${podPath}/${name}/log?follow=true`, {
      headers: { authorization: `Bearer ${kube.token}` },
    })
    const text = await res.text() // ends when the process exits
    expect(text.match(/^tick \d+$/gm)).toEqual(Array.from({ length: 8 }, (_, i) => `tick ${i + 1}`))
  })

  it('stamps log lines as the kubelet does (timestamps=true: RFC 3339 with 9 digits) and starts at sinceTime', async () => {
    await apply(
      jobPath,
      job('horde-master-stamps', [
        { name: 'MODE', value: 'ticks' },
        { name: 'TICKS', value: '5' },
      ]),
    )
    await waitFor(
      () => podsOf('horde-master-stamps')[0]?.status?.phase === 'Succeeded',
      10_000,
      'the pod to end',
    )
    const name = podsOf('horde-master-stamps')[0]?.metadata.name ?? ''
    const logs = (query: string) =>
      call('GET', `${podPath}/${name}/log?${query}`).then((r) =>
        typeof r.json === 'string' ? r.json : JSON.stringify(r.json),
      )
    const lines = (await logs('timestamps=true')).trimEnd().split('\n')
    expect(lines).toHaveLength(5)
    for (const [i, line] of lines.entries())
      expect(line).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z tick ${i + 1}$`))
    const stamps = lines.map((l) => l.split(' ')[0] ?? '')
    expect([...stamps].sort()).toEqual(stamps)
    expect(new Set(stamps).size).toBe(5)
    const second = (stamps[0] ?? '').slice(0, 19) + 'Z'
    expect(await logs(`timestamps=true&sinceTime=${second}`)).toBe(`${lines.join('\n')}\n`)
    expect(await logs(`sinceTime=${new Date(Date.now() + 60_000).toISOString().slice(0, 19)}Z`)).toBe('')
    expect(await logs('tailLines=2')).toBe('tick 4\ntick 5\n')
  })

  it("proxies to a Service through /proxy/, by port name, without passing the caller's Authorization", async () => {
    const port = await freePort()
    await apply(`/api/v1/namespaces/${NS}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'horde-master-r2' },
      spec: {
        selector: { 'job-name': 'horde-master-r2' },
        ports: [{ name: 'api', port: 8089, targetPort: port }],
      },
    })
    const none = await call('GET', `/api/v1/namespaces/${NS}/services/horde-master-r2:api/proxy/status`)
    expect(none.status).toBe(503)
    await apply(
      jobPath,
      job('horde-master-r2', [
        { name: 'MODE', value: 'serve' },
        { name: 'PORT', value: String(port) },
      ]),
    )
    await waitFor(() => podsOf('horde-master-r2')[0]?.status?.phase === 'Running', 10_000, 'the master pod')
    let res = await call(
      'GET',
      `/api/v1/namespaces/${NS}/services/http:horde-master-r2:api/proxy/status?verbose=1`,
    )
    for (let i = 0; res.status === 503 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100)) // the process is running but not yet listening
      res = await call(
        'GET',
        `/api/v1/namespaces/${NS}/services/http:horde-master-r2:api/proxy/status?verbose=1`,
      )
    }
    expect(res).toEqual({
      status: 200,
      json: { method: 'GET', url: '/status?verbose=1', authorization: null, token: null },
    })
    const stop = await fetch(`${kube.url}/api/v1/namespaces/${NS}/services/horde-master-r2:api/proxy/stop`, {
      method: 'POST',
      headers: { authorization: `Bearer ${kube.token}`, 'x-horde-token': 'control-token' },
      body: '{}',
    })
    expect(await stop.json()).toMatchObject({ method: 'POST', url: '/stop', token: 'control-token' })
  })

  it('deletes a Job: Foreground stops its pods (SIGTERM, grace, SIGKILL) before the Job goes; the default orphans them', async () => {
    await apply(
      jobPath,
      job('horde-worker-fg', [{ name: 'MODE', value: 'sleep' }], {
        completionMode: 'Indexed',
        completions: 2,
        parallelism: 2,
      }),
    )
    await apply(
      jobPath,
      job('horde-worker-stubborn', [
        { name: 'MODE', value: 'sleep' },
        { name: 'IGNORE_TERM', value: '1' },
      ]),
    )
    await apply(jobPath, job('horde-worker-orphan', [{ name: 'MODE', value: 'sleep' }]))
    await waitFor(() => kube.runningPids().length === 4, 10_000, '4 running processes')
    // Until a process has installed its SIGTERM handler, SIGTERM kills it outright: wait for it to say so.
    for (const pod of kube.list('v1/pods', NS)) await waitForLog(pod.metadata.name, 'sleeping')
    const stubborn = podsOf('horde-worker-stubborn')[0]?.metadata.name ?? ''

    const fg = await call('DELETE', `${jobPath}/horde-worker-fg`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Foreground',
    })
    expect(fg.status).toBe(200)
    expect((fg.json as KubeObject).metadata).toMatchObject({ finalizers: ['foregroundDeletion'] })
    await waitFor(
      () => kube.get('batch/v1/jobs', NS, 'horde-worker-fg') === undefined,
      10_000,
      'the Job to go',
    )
    expect(podsOf('horde-worker-fg')).toEqual([])

    await call('DELETE', `${jobPath}/horde-worker-stubborn?propagationPolicy=Background`)
    await waitForLog(stubborn, 'got SIGTERM')
    const pod = podsOf('horde-worker-stubborn')[0]
    expect(pod?.metadata.deletionTimestamp).toBeDefined() // still there: it ignores SIGTERM, so it waits out its grace
    await waitFor(
      () => podsOf('horde-worker-stubborn').length === 0,
      10_000,
      'the stubborn pod to be killed after its 2 s grace',
    )
    expect(Date.now() - Date.parse(pod?.metadata.deletionTimestamp ?? '')).toBeGreaterThanOrEqual(1900)

    expect((await call('DELETE', `${jobPath}/horde-worker-orphan`)).status).toBe(200)
    await new Promise((r) => setTimeout(r, 300))
    const orphans = kube.list('v1/pods', NS, 'job-name=horde-worker-orphan')
    expect(orphans).toHaveLength(1) // batch/v1's default propagation is orphan: the process still runs
    expect(orphans[0]?.metadata.ownerReferences).toBeUndefined()
    expect(kube.runningPids()).toHaveLength(1)
    expect((await call('DELETE', `${podPath}/${orphans[0]?.metadata.name}`)).status).toBe(200)
    await waitFor(() => kube.runningPids().length === 0, 10_000, 'no process left')
  })

  it('fails a Job past activeDeadlineSeconds and stops its pod', async () => {
    await apply(
      jobPath,
      job('horde-master-late', [{ name: 'MODE', value: 'sleep' }], { activeDeadlineSeconds: 1 }),
    )
    await waitFor(
      () => condition(kube.get('batch/v1/jobs', NS, 'horde-master-late')) !== undefined,
      10_000,
      'the deadline',
    )
    expect(condition(kube.get('batch/v1/jobs', NS, 'horde-master-late'))).toBe('Failed:DeadlineExceeded')
    await waitFor(() => kube.runningPids().length === 0, 10_000, 'the pod to stop')
  })

  it('answers as the API does: AlreadyExists on a second create, immutable Job template on re-apply, NotFound', async () => {
    const j = job('horde-worker-dup', [{ name: 'MODE', value: 'complete' }])
    expect((await call('POST', jobPath, j)).status).toBe(201)
    const again = await call('POST', jobPath, j)
    expect(again.json).toMatchObject({
      kind: 'Status',
      reason: 'AlreadyExists',
      code: 409,
      message: 'jobs.batch "horde-worker-dup" already exists',
    })
    expect((await apply(jobPath, j)).status).toBe(200) // same spec: a no-op
    const changed = job('horde-worker-dup', [{ name: 'MODE', value: 'sleep' }])
    expect((await apply(jobPath, changed)).json).toMatchObject({ reason: 'Invalid', code: 422 })
    expect((await call('GET', `${jobPath}/nope`)).json).toMatchObject({
      reason: 'NotFound',
      code: 404,
      message: 'jobs.batch "nope" not found',
    })
    const bad = job('horde-worker-rp', [])
    templateOf(bad).restartPolicy = 'Always'
    expect((await call('POST', jobPath, bad)).json).toMatchObject({ reason: 'Invalid', code: 422 })
    const list = await call(
      'GET',
      `${jobPath}?labelSelector=horde.dev%2Frun-id%3Dr1,horde.dev%2Frole%20in%20(worker)`,
    )
    expect((list.json as { items: KubeObject[] }).items.map((i) => i.metadata.name)).toEqual([
      'horde-worker-dup',
    ])
  })
})
