import { readFile } from 'node:fs/promises'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import type { RunResult } from '../../src/shared/result.js'
import { NS, startClusterRunFixture, type ClusterRunFixture } from '../helpers/cluster-run-fixture.js'
import { startGcsEmulatorAsStore, type GcsEmulator } from '../helpers/gcs-emulator.js'
import { runAction, type ActionRun } from '../helpers/github-action.js'
import { waitFor, type TestProcess } from '../helpers/processes.js'

/**
 * actions/run-load-test when the cluster's plumbing misbehaves, through the real bundled entry point: a
 * private cluster whose API server cannot proxy to pods (the stop goes through pods/portforward over
 * WebSocket instead, in main and in the post: step), and log streams and watches cut mid-run as an API
 * server restart cuts them (the action re-opens them without losing or repeating a progress line).
 */
let emulator: GcsEmulator
let fixture: ClusterRunFixture | undefined
let target: DemoTarget | undefined

beforeAll(async () => {
  emulator = await startGcsEmulatorAsStore()
}, 120_000)
afterAll(async () => {
  await emulator?.stop()
})
beforeEach(async () => {
  fixture = await startClusterRunFixture(emulator.host)
  target = await startDemoTarget()
})
afterEach(async () => {
  await fixture?.close()
  await target?.close()
  fixture = target = undefined
})

function setUp(): { f: ClusterRunFixture; t: DemoTarget } {
  if (fixture === undefined || target === undefined) throw new Error('test bug: no fixture')
  return { f: fixture, t: target }
}

/** The master's per-second progress lines as they reached the step log. */
const progressLines = (log: string) => log.split('\n').filter((l) => /^\[\s*\d+s\] users\s/.test(l))
const PORT_FORWARD = new RegExp(
  `^GET /api/v1/namespaces/${NS}/pods/horde-master-[a-z0-9-]+/portforward\\?ports=\\d+$`,
)

describe('run-load-test on a private cluster (the service proxy cannot reach pods)', () => {
  it('cancelled mid-run: the stop goes through a port-forward to the master, load stops within 15 s, verdict stopped, Jobs deleted', async () => {
    const { f, t } = setUp()
    f.kube.setServiceProxyUnreachable('refuse')
    let proc: TestProcess | undefined
    const running = runAction('run-load-test', f.inputs(t.url, { duration: '5m', 'run-id': 'pf-1' }), {
      env: f.env,
      timeoutMs: 150_000,
      onStarted: (p) => (proc = p),
    })
    await waitFor(() => t.servedTotal() > 50, 120_000, 'load from the workers')
    const signalledAt = Date.now()
    proc?.kill('SIGINT')
    const step: ActionRun = await running
    expect(Date.now() - signalledAt).toBeLessThan(15_000)
    const served = t.servedTotal()
    await new Promise((r) => setTimeout(r, 1500))
    expect(t.servedTotal()).toBe(served)
    expect(step.outputs.verdict, step.log).toBe('stopped')
    // The proxy was tried first and failed; the port-forward reached the master, which accepted the stop.
    expect(f.kube.requests).toContain(
      `POST /api/v1/namespaces/${NS}/services/horde-master-pf-1:control-api/proxy/stop`,
    )
    expect(f.kube.requests.some((r) => PORT_FORWARD.test(r))).toBe(true)
    expect(step.log).toMatch(
      /asked the master of run pf-1 to stop: the master answered HTTP 202 \(through a port-forward to pod horde-master-pf-1-[a-z0-9]+; the service proxy failed: HTTP 503/,
    )
    // The master stored its own result as stopped before the Jobs went.
    const stopped = JSON.parse(await readFile(step.outputs['result-path'] ?? '', 'utf8')) as RunResult
    expect(stopped.verdict).toBe('stopped')
    expect(stopped.totals.requests).toBe(t.servedTotal())
    await waitFor(() => f.jobsOfRun('pf-1').length === 0, 10_000, "the run's Jobs to be deleted")
    expect(f.kube.runningPids()).toEqual([])
  }, 240_000)

  it('post: step after main was killed outright, the proxy hanging: the same fallback (after 3 s) stops the master (result stored as stopped), Jobs deleted', async () => {
    const { f, t } = setUp()
    f.kube.setServiceProxyUnreachable('hang')
    let proc: TestProcess | undefined
    const running = runAction('run-load-test', f.inputs(t.url, { duration: '5m', 'run-id': 'pf-post' }), {
      env: f.env,
      timeoutMs: 150_000,
      onStarted: (p) => (proc = p),
    })
    await waitFor(() => t.servedTotal() > 50, 120_000, 'load from the workers')
    proc?.kill('SIGKILL')
    await running
    const post = await runAction('run-load-test', f.inputs(t.url, { duration: '5m', 'run-id': 'pf-post' }), {
      env: { ...f.env, STATE_isPost: 'true', 'STATE_run-id': 'pf-post', STATE_namespace: NS },
      timeoutMs: 120_000,
    })
    expect(post.exitCode, post.log).toBe(0)
    expect(post.log).toMatch(
      /post: asked the master of run pf-post to stop: the master answered HTTP 202 \(through a port-forward to pod horde-master-pf-post-[a-z0-9]+; the service proxy failed: the API server's service proxy to horde-master-pf-post:control-api did not answer within 3000 ms\)/,
    )
    expect(post.log).toContain('post: the master of run pf-post ended: stopped')
    await waitFor(() => f.jobsOfRun('pf-post').length === 0, 10_000, "the run's Jobs to be deleted")
    expect(f.kube.runningPids()).toEqual([])
    const served = t.servedTotal()
    await new Promise((r) => setTimeout(r, 1500))
    expect(t.servedTotal()).toBe(served)
  }, 240_000)
})

describe('run-load-test when the API server cuts its streams mid-run', () => {
  it("the master's log stream and the watches are cut (then the watches again, past a compaction: 410 Gone): all re-open, progress lines go on with none repeated, verdict and totals unchanged", async () => {
    const { f, t } = setUp()
    let proc: TestProcess | undefined
    const running = runAction('run-load-test', f.inputs(t.url, { duration: '14s', 'run-id': 'cut-1' }), {
      env: f.env,
      timeoutMs: 150_000,
      onStarted: (p) => (proc = p),
    })
    await waitFor(() => progressLines(proc?.output() ?? '').length >= 3, 120_000, 'progress lines')
    const cutLogs = f.kube.cutStreams('logs')
    const cutWatches = f.kube.cutStreams('watches')
    expect(cutLogs).toBeGreaterThanOrEqual(1)
    expect(cutWatches).toBeGreaterThanOrEqual(2) // Pods and Jobs
    const linesBeforeCut = progressLines(proc?.output() ?? '').length
    // Later, the watches are cut again after the history they would resume from was compacted: 410 Gone.
    await waitFor(
      () => progressLines(proc?.output() ?? '').length >= linesBeforeCut + 2,
      60_000,
      'progress after the first cut',
    )
    f.kube.compactHistory()
    const requestsBeforeCompactedCut = f.kube.requests.length
    expect(f.kube.cutStreams('watches')).toBeGreaterThanOrEqual(2)
    const step = await running
    expect(step.exitCode, step.log).toBe(0)
    expect(step.outputs.verdict).toBe('pass')

    // Re-opened, said so once, and from the last line's second.
    expect(step.log).toMatch(
      /::warning::the log stream of horde-master-cut-1-[a-z0-9]+ ended while it runs \(.+\); re-opening from \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, lines already shown are skipped/,
    )
    expect(step.log).toMatch(/watching Pods failed \(.+\); resuming from resourceVersion \d+/)
    expect(
      f.kube.requests.some((r) => /\/pods\/horde-master-cut-1-[a-z0-9]+\/log\?.*sinceTime=/.test(r)),
    ).toBe(true)
    expect(f.kube.requests.some((r) => /\/pods\?watch=true.*&resourceVersion=\d+/.test(r))).toBe(true)
    // After the compaction: resumed, told 410 Gone, listed again (a watch from scratch).
    expect(step.log).toMatch(/watching Pods: too old resource version: \d+; listing them again/)
    const later = f.kube.requests.slice(requestsBeforeCompactedCut)
    const gone = later.findIndex((r) => /\/pods\?watch=true.*&resourceVersion=\d+/.test(r))
    expect(gone).toBeGreaterThanOrEqual(0)
    expect(
      later.slice(gone + 1).some((r) => /\/pods\?watch=true/.test(r) && !r.includes('resourceVersion=')),
    ).toBe(true)

    // Progress went on after the cut, every line once, in order.
    const lines = progressLines(step.log)
    expect(lines.length).toBeGreaterThan(linesBeforeCut + 3)
    expect(new Set(lines).size).toBe(lines.length)
    const seconds = lines.map((l) => Number(/^\[\s*(\d+)s\]/.exec(l)?.[1]))
    expect(seconds).toEqual([...seconds].sort((a, b) => a - b))

    // The run itself never noticed.
    const result = JSON.parse(await readFile(step.outputs['result-path'] ?? '', 'utf8')) as RunResult
    expect(result.verdict).toBe('pass')
    expect(result.totals.requests).toBe(t.servedTotal())
    expect(f.kube.runningPids()).toEqual([])
  }, 240_000)
})
