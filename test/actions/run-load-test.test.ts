import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Storage } from '@google-cloud/storage'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import type { RunResult } from '../../src/shared/result.js'
import {
  BUCKET,
  COMMIT,
  NS,
  startClusterRunFixture,
  type ClusterRunFixture,
} from '../helpers/cluster-run-fixture.js'
import type { FakeDatadogAgent } from '../helpers/fake-datadog-agent.js'
import type { FakeKubeApi } from '../helpers/fake-kube-api.js'
import { SLACK_CHANNEL, SLACK_TOKEN, startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js'
import { startGcsEmulatorAsStore, type GcsEmulator } from '../helpers/gcs-emulator.js'
import { runAction, type ActionRun } from '../helpers/github-action.js'
import { waitFor, type TestProcess } from '../helpers/processes.js'

/**
 * actions/run-load-test end to end, as the runner runs it (`node actions/run-load-test/dist/index.js` with
 * INPUT_* and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY): against the loopback Kubernetes API running the pods as
 * real processes (helpers/cluster-run-fixture.ts), a loopback target that counts what it served, the GCS
 * emulator as the report store, and the loopback Slack for notify-slack afterwards.
 */
let emulator: GcsEmulator
let fixture: ClusterRunFixture | undefined
let tmp: string
let kube: FakeKubeApi | undefined
let target: DemoTarget | undefined
let slack: FakeSlack | undefined
let agent: FakeDatadogAgent | undefined
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  emulator = await startGcsEmulatorAsStore()
}, 120_000)
afterAll(async () => {
  await emulator?.stop()
})

beforeEach(async () => {
  fixture = await startClusterRunFixture(emulator.host)
  ;({ tmp, kube, env, agent } = fixture)
  target = await startDemoTarget()
})

afterEach(async () => {
  await fixture?.close()
  await target?.close()
  await slack?.close()
  fixture = kube = target = slack = agent = undefined
})

const inputs = (extra: Record<string, string> = {}): Record<string, string> =>
  fixture?.inputs(target?.url ?? '', extra) ?? {}

const jobsOfRun = (runId: string) => fixture?.jobsOfRun(runId) ?? []

describe('run-load-test', () => {
  it('inputs → real load on the cluster → verdict, outputs, job summary → one Slack message; Slack down keeps the report', async () => {
    const step = await runAction(
      'run-load-test',
      inputs({ 'trace-sample': '1', 'datadog-env': 'loadtest-ci', 'datadog-service': 'horde-ci' }),
      { env, timeoutMs: 150_000 },
    )
    expect(step.exitCode, step.log).toBe(0)
    expect(step.outputs['run-id']).toBe('gh-9876543210-2')
    expect(step.outputs.verdict).toBe('pass')
    expect(step.outputs['exit-code']).toBe('0')
    // The master's progress lines reached the step log.
    expect(step.log).toMatch(/\[\s*\d+s\] users\s+4\/4/)
    // A log stream that ends with the master is its normal end, not a drop to re-open.
    expect(step.log).not.toContain('re-opening from')
    const resultPath = step.outputs['result-path'] ?? ''
    expect(resultPath).toBe(join(tmp, 'horde-results', 'gh-9876543210-2', 'result.json'))
    const result = JSON.parse(await readFile(resultPath, 'utf8')) as RunResult
    expect(result.verdict).toBe('pass')
    expect(result.config.workers).toBe(2)
    expect(result.totals.requests).toBeGreaterThan(0)
    expect(result.totals.requests).toBe(target?.servedTotal())
    expect(existsSync(join(tmp, 'horde-results', 'gh-9876543210-2', 'index.html'))).toBe(true)
    expect(step.outputs['report-url']).toContain(
      encodeURIComponent(`reports/vote-demo/gh-9876543210-2/index.html`),
    )
    expect(step.summary).toContain('PASS')
    expect(step.summary).toContain('[Open the full report](')
    // Every object was applied server-side, named per run, and no pod is left running.
    expect(
      kube?.requests.some((r) =>
        r.startsWith(
          `PATCH /apis/batch/v1/namespaces/${NS}/jobs/horde-master-gh-9876543210-2?fieldManager=horde`,
        ),
      ),
    ).toBe(true)
    expect(kube?.runningPids()).toEqual([])
    // The run's other objects are owned by its master Job: its TTL takes them along.
    const masterUid = kube?.get('batch/v1/jobs', NS, 'horde-master-gh-9876543210-2')?.metadata.uid
    for (const resource of [
      'v1/services',
      'v1/configmaps',
      'v1/serviceaccounts',
      'networking.k8s.io/v1/networkpolicies',
    ]) {
      const objects = kube?.list(resource, NS, 'horde.dev/run-id=gh-9876543210-2') ?? []
      expect(objects.length, resource).toBeGreaterThan(0)
      for (const o of objects)
        expect(o.metadata.ownerReferences?.[0], o.metadata.name).toMatchObject({
          kind: 'Job',
          uid: masterUid,
        })
    }

    // Datadog from the pods: the node's agent got every request as a span and the live metrics, all with one
    // env, service and version (this commit: the image is pinned by digest), the same as the pods' labels.
    const unified = { env: 'loadtest-ci', service: 'horde-ci', version: COMMIT.slice(0, 12) }
    expect(result.tracing?.sample).toBe(1)
    const spans = agent?.spans.filter((span) => span.meta['horde.run_id'] === 'gh-9876543210-2') ?? []
    expect(spans).toHaveLength(result.totals.requests + (result.warmupTotals?.requests ?? 0))
    for (const span of spans) {
      expect(span.service).toBe(unified.service)
      expect(span.meta).toMatchObject({ env: unified.env, version: unified.version })
    }
    const metrics = agent?.metrics.filter((m) => m.tags.run_id === 'gh-9876543210-2') ?? []
    expect([...new Set(metrics.map((m) => m.name))]).toEqual(
      expect.arrayContaining(['horde.rps', 'horde.users', 'horde.worker.cpu_percent']),
    )
    for (const m of metrics) expect(m.tags).toMatchObject(unified)
    for (const role of ['master', 'worker']) {
      const job = kube?.get('batch/v1/jobs', NS, `horde-${role}-gh-9876543210-2`)
      const template = job?.spec?.template as { metadata?: { labels?: Record<string, string> } } | undefined
      expect(template?.metadata?.labels).toMatchObject({
        'tags.datadoghq.com/env': unified.env,
        'tags.datadoghq.com/service': unified.service,
        'tags.datadoghq.com/version': unified.version,
      })
    }
    expect(step.log).toMatch(new RegExp(`"version":"${unified.version}"`))

    slack = await startFakeSlack()
    const notify = await runAction('notify-slack', {
      token: SLACK_TOKEN,
      channel: SLACK_CHANNEL,
      'slack-api-url': slack.url,
      result: resultPath,
      'report-url': step.outputs['report-url'] ?? '',
      'datadog-site': 'datadoghq.eu',
    })
    expect(notify.exitCode, notify.log).toBe(0)
    const [message] = slack.messages
    expect(message?.text).toContain(
      `PASS · ${result.config.scenario} · ${(target?.servedTotal() ?? 0).toLocaleString('en-US')} requests`,
    )
    const blocks = JSON.stringify(message?.blocks)
    expect(blocks).toContain('datadoghq.eu')
    expect(blocks).toContain(encodeURIComponent('gh-9876543210-2'))
    expect(slack.messages.filter((m) => m.threadTs === undefined)).toHaveLength(1)

    slack.failAlways('chat.postMessage', { error: 'invalid_auth' })
    const refused = await runAction('notify-slack', {
      token: SLACK_TOKEN,
      channel: SLACK_CHANNEL,
      'slack-api-url': slack.url,
      result: resultPath,
      'report-url': step.outputs['report-url'] ?? '',
    })
    expect(refused.exitCode).not.toBe(0)
    expect(refused.log).toContain('invalid_auth')
    expect(refused.outputs.verdict).toBe('pass')
    // The result and the report are stored whatever Slack says.
    expect(existsSync(resultPath)).toBe(true)
    const [files] = await new Storage({ projectId: 'demo-horde' })
      .bucket(BUCKET)
      .getFiles({ prefix: 'reports/vote-demo/gh-9876543210-2/' })
    expect(files.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'reports/vote-demo/gh-9876543210-2/index.html',
        'reports/vote-demo/gh-9876543210-2/result.json',
      ]),
    )
  }, 240_000)

  it('a failed threshold (namespace from the kubeconfig): verdict fail, an error annotation per failed threshold, the step fails (fail-on)', async () => {
    await target?.close()
    target = await startDemoTarget({ voteFailureRate: 0.5 })
    // No namespace input: the kubeconfig context's namespace, as kubectl would use.
    const step = await runAction(
      'run-load-test',
      inputs({ duration: '20s', 'run-id': 'fail-1', namespace: '' }),
      {
        env,
        timeoutMs: 150_000,
      },
    )
    expect(step.outputs.verdict, step.log).toBe('fail')
    expect(step.exitCode).toBe(99)
    expect(step.outputs['exit-code']).toBe('99')
    expect(step.log).toMatch(
      /::error title=Threshold failed%3A http_req_failed::http_req_failed rate<0\.01: observed \d/,
    )
    const result = JSON.parse(await readFile(step.outputs['result-path'] ?? '', 'utf8')) as RunResult
    expect(result.totals.requests).toBe(target.servedTotal())
    expect(step.summary).toContain('❌ FAIL')
    expect(
      jobsOfRun('fail-1')
        .map((j) => j.metadata.name)
        .sort(),
    ).toEqual(['horde-master-fail-1', 'horde-worker-fail-1'])
  }, 240_000)

  it('cancelled mid-run (SIGINT): the master stops gracefully through the service proxy, load stops within 15 s, Jobs deleted, verdict stopped, Slack says so', async () => {
    let proc: TestProcess | undefined
    const running = runAction('run-load-test', inputs({ duration: '5m', 'run-id': 'cancel-1' }), {
      env,
      timeoutMs: 150_000,
      onStarted: (p) => (proc = p),
    })
    await waitFor(() => (target?.servedTotal() ?? 0) > 50, 120_000, 'load from the workers')
    const signalledAt = Date.now()
    proc?.kill('SIGINT')
    const step: ActionRun = await running
    expect(Date.now() - signalledAt).toBeLessThan(15_000)
    const served = target?.servedTotal() ?? 0
    await new Promise((r) => setTimeout(r, 1500))
    expect(target?.servedTotal()).toBe(served)
    expect(step.outputs.verdict, step.log).toBe('stopped')
    expect(step.outputs['exit-code']).toBe('105')
    // The verdict is the master's own: it stored its result as stopped before the Jobs went.
    const stopped = JSON.parse(await readFile(step.outputs['result-path'] ?? '', 'utf8')) as RunResult
    expect(stopped.verdict).toBe('stopped')
    expect(stopped.totals.requests).toBe(target?.servedTotal())
    // The stop went through the API server's service proxy, to the port named control-api.
    expect(kube?.requests).toContain(
      `POST /api/v1/namespaces/${NS}/services/horde-master-cancel-1:control-api/proxy/stop`,
    )
    expect(step.log).toContain('the master answered HTTP 202')
    await waitFor(() => jobsOfRun('cancel-1').length === 0, 10_000, "the run's Jobs to be deleted")
    expect(kube?.runningPids()).toEqual([])
    expect(
      kube?.requests.some((r) =>
        /^DELETE \/apis\/batch\/v1\/namespaces\/loadtest\/jobs\/horde-worker-cancel-1\?propagationPolicy=Foreground/.test(
          r,
        ),
      ),
    ).toBe(true)

    slack = await startFakeSlack()
    const notify = await runAction('notify-slack', {
      token: SLACK_TOKEN,
      channel: SLACK_CHANNEL,
      'slack-api-url': slack.url,
      result: step.outputs['result-path'] ?? '',
      'report-url': step.outputs['report-url'] ?? '',
      'run-id': 'cancel-1',
      scenario: 'scenarios/demo.ts',
    })
    expect(notify.exitCode, notify.log).toBe(0)
    expect(slack.messages[0]?.text).toMatch(/STOPPED/)
  }, 240_000)

  it('post: step after main was killed outright: stops the master gracefully (result stored as stopped), deletes the Jobs', async () => {
    let proc: TestProcess | undefined
    const running = runAction('run-load-test', inputs({ duration: '5m', 'run-id': 'post-1' }), {
      env,
      timeoutMs: 150_000,
      onStarted: (p) => (proc = p),
    })
    await waitFor(() => (target?.servedTotal() ?? 0) > 50, 120_000, 'load from the workers')
    proc?.kill('SIGKILL') // the runner gave up on main: only the post step is left
    await running
    expect(kube?.runningPids().length).toBe(3) // the run goes on without the action

    const post = await runAction('run-load-test', inputs({ duration: '5m', 'run-id': 'post-1' }), {
      env: { ...env, STATE_isPost: 'true', 'STATE_run-id': 'post-1', STATE_namespace: NS },
      timeoutMs: 120_000,
    })
    expect(post.exitCode, post.log).toBe(0)
    expect(post.log).toContain('post: asked the master of run post-1 to stop: the master answered HTTP 202')
    expect(post.log).toContain('post: the master of run post-1 ended: stopped')
    await waitFor(() => jobsOfRun('post-1').length === 0, 10_000, "the run's Jobs to be deleted")
    expect(kube?.runningPids()).toEqual([])
    const served = target?.servedTotal() ?? 0
    await new Promise((r) => setTimeout(r, 1500))
    expect(target?.servedTotal()).toBe(served)
    const [files] = await new Storage({ projectId: 'demo-horde' })
      .bucket(BUCKET)
      .getFiles({ prefix: 'reports/vote-demo/post-1/' })
    expect(files.map((f) => f.name)).toContain('reports/vote-demo/post-1/result.json')
  }, 240_000)

  it.each([
    [
      'an image that cannot be pulled',
      { kind: 'ErrImagePull' } as const,
      /cannot pull its image \((ErrImagePull|ImagePullBackOff)/,
    ],
    [
      'worker pods that cannot be scheduled',
      { kind: 'Unschedulable' } as const,
      /could not be scheduled for 3 s \(Unschedulable: 0\/3 nodes are available/,
    ],
    ['an OOMKilled worker', { kind: 'OOMKilled', afterMs: 1500 } as const, /was OOMKilled/],
  ])(
    '%s → verdict invalid with the reason, Jobs deleted, Slack says why',
    async (_what, fault, reason) => {
      kube?.injectFault({ 'horde.dev/role': 'worker' }, fault)
      const step = await runAction(
        'run-load-test',
        inputs({ duration: '1m', 'run-id': 'fault-1', 'pending-timeout': '3s' }),
        {
          env,
          timeoutMs: 120_000,
        },
      )
      expect(step.exitCode, step.log).not.toBe(0)
      expect(step.outputs.verdict).toBe('invalid')
      expect(step.outputs['exit-code']).toBe('106')
      expect(step.log).toMatch(reason)
      expect(step.log).toMatch(/::error title=Run invalid::/)
      expect(step.summary).toMatch(reason)
      await waitFor(() => jobsOfRun('fault-1').length === 0, 15_000, "the run's Jobs to be deleted")

      slack = await startFakeSlack()
      const notify = await runAction('notify-slack', {
        token: SLACK_TOKEN,
        channel: SLACK_CHANNEL,
        'slack-api-url': slack.url,
        'run-id': 'fault-1',
        scenario: 'scenarios/demo.ts',
        reason: `Run invalid: ${step.log.match(reason)?.[0] ?? ''}`,
      })
      expect(notify.exitCode, notify.log).toBe(0)
      expect(JSON.stringify(slack.messages[0]?.blocks)).toMatch(reason)
    },
    180_000,
  )

  it.each([
    [{ users: '10' }, /input parallelism cannot be given with users/],
    [{ parallelism: '' }, /input users or parallelism is required/],
    [{ pods: '0' }, /input pods must be a whole number of worker pods, e\.g\. 3, received "0"/],
    [{ duration: 'soon' }, /input duration .*received "soon"/],
    [{ 'run-id': 'Not_A_Label' }, /input run-id must be a DNS label/],
    [{ overlay: 'nope' }, /input overlay must name a folder/],
    [{ 'fail-on': 'fail,maybe' }, /input fail-on must be a comma-separated list of verdicts/],
    [{ 'trace-sample': '2' }, /input trace-sample must be the share of requests to trace, .*received "2"/],
    [
      { 'trace-sample': '0.1', 'datadog-agent': 'off' },
      /input trace-sample needs a Datadog agent, but input datadog-agent is off/,
    ],
    [{ 'datadog-version': 'v 1' }, /input datadog-version must be a Kubernetes label value .*received "v 1"/],
  ])(
    'bad input %j fails before anything is applied, naming input, value and fix',
    async (bad, message) => {
      const step = await runAction('run-load-test', inputs(bad), { env, timeoutMs: 60_000 })
      expect(step.exitCode).toBe(104)
      expect(step.log).toMatch(message)
      expect(kube?.requests.filter((r) => !r.includes('/secrets'))).toEqual([])
    },
    90_000,
  )
})
