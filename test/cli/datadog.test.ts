import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { MASTER_METRICS } from '../../src/master/live-metrics.js'
import { WORKER_METRICS } from '../../src/worker/worker-datadog.js'
import { renderReport } from '../../report/render.js'
import {
  startFakeDatadogAgent,
  type AgentSpan,
  type FakeDatadogAgent,
} from '../helpers/fake-datadog-agent.js'
import { freePort, startProcess, stopProcess, waitFor, type TestProcess } from '../helpers/processes.js'

const HELPERS = join(import.meta.dirname, '../helpers')
const SCENARIOS = join(HELPERS, 'scenarios')

/** The unified service tags every signal of the run must carry. */
const DD_ENV = { DD_ENV: 'loadtest-ci', DD_SERVICE: 'horde-ci', DD_VERSION: '9.9.9' }

interface SeenRequest {
  seen: string
  traceId: string | null
  parentId: string | null
  priority: string | null
  traceparent: string | null
}

function seenRequests(target: TestProcess): SeenRequest[] {
  return target
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{"seen"'))
    .map((line) => JSON.parse(line) as SeenRequest)
}

async function startTracedTarget(agent: FakeDatadogAgent): Promise<{ process: TestProcess; url: string }> {
  const target = startProcess(process.execPath, [join(HELPERS, 'traced-target.cjs')], {
    env: {
      DD_TRACE_AGENT_URL: agent.traceUrl,
      TARGET_SERVICE: 'shop-api',
      DD_REMOTE_CONFIGURATION_ENABLED: 'false',
      DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
    },
  })
  const line = await target.waitFor(/^listening \d+/m, 20_000)
  return { process: target, url: `http://127.0.0.1:${/listening (\d+)/.exec(line)?.[1] ?? ''}` }
}

function hordeRun(args: string[], env: NodeJS.ProcessEnv): TestProcess {
  return startProcess(process.execPath, ['bin/horde.js', 'run', ...args], {
    env: { HORDE_LOG_LEVEL: 'info', ...env },
  })
}

function probes(dir: string): Array<{ argv: string[]; ddTraceFiles: number }> {
  return readdirSync(dir)
    .filter((f) => f.startsWith('probe-'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { argv: string[]; ddTraceFiles: number })
}

describe('Datadog end to end: traces joined with the target, live metrics, a dead agent', () => {
  let agent: FakeDatadogAgent | undefined
  let target: TestProcess | undefined
  let run: TestProcess | undefined
  let out: string

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'horde-dd-'))
    return () => rmSync(out, { recursive: true, force: true })
  })
  afterEach(async () => {
    await stopProcess(run)
    run = undefined
    await stopProcess(target)
    target = undefined
    await agent?.close()
    agent = undefined
  })

  it("a span per request with the run's tags; the target's spans join them; live metrics equal result.json", async () => {
    agent = await startFakeDatadogAgent()
    const started = await startTracedTarget(agent)
    target = started.process
    const dir = join(out, 'traced')
    const probeDir = mkdtempSync(join(out, 'probe-on-'))
    run = hordeRun(
      [
        join(SCENARIOS, 'traced.ts'),
        '-u',
        '2',
        '-r',
        '2',
        '-t',
        '8s',
        '-w',
        '2',
        '--host',
        started.url,
        '--out',
        dir,
        '--statsd',
        `127.0.0.1:${agent.statsdPort}`,
      ],
      {
        ...DD_ENV,
        DD_TRACE_AGENT_URL: agent.traceUrl,
        NODE_OPTIONS: `--import=${join(HELPERS, 'module-probe.mjs')}`,
        HORDE_TEST_PROBE_DIR: probeDir,
      },
    )
    const code = await run.exited
    expect(code, run.output()).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    const requests = result.totals.requests + (result.warmupTotals?.requests ?? 0)
    expect(requests).toBeGreaterThan(40)

    // Spans: one per request (the scenario samples 1), all flushed before the workers exited.
    const workerSpans = (): AgentSpan[] => agent?.spans.filter((s) => s.service === 'horde-ci') ?? []
    expect(workerSpans()).toHaveLength(requests)
    for (const span of workerSpans()) {
      expect(span.name).toBe('http.request')
      expect(['GET /items', 'GET /fail']).toContain(span.resource)
      expect(span.meta).toMatchObject({
        'horde.run_id': result.runId,
        'horde.scenario': 'traced',
        'horde.user_class': 'Buyer',
        'span.kind': 'client',
        env: 'loadtest-ci',
        version: '9.9.9',
      })
      expect(span.meta['horde.worker']).toMatch(/.+/)
      if (span.resource === 'GET /fail') {
        expect(span.error).toBe(1)
        expect(span.meta['http.status_code']).toBe('500')
        expect(span.meta['error.message']).toBe('HTTP 500')
      } else {
        expect(span.error).toBe(0)
        expect(span.meta['http.status_code']).toBe('200')
      }
    }
    expect(new Set(workerSpans().map((s) => s.meta['horde.worker'])).size).toBe(2)
    const failedSpans = workerSpans().filter((s) => s.error === 1).length
    expect(failedSpans).toBe(result.totals.failures + (result.warmupTotals?.failures ?? 0))

    // The target's own spans join: same trace, parent = the worker's span.
    await waitFor(
      () => (agent?.spans.filter((s) => s.service === 'shop-api').length ?? 0) >= requests,
      10_000,
      'the target to flush its spans',
    )
    const bySpanId = new Map(workerSpans().map((s) => [s.span_id, s]))
    const targetSpans = agent.spans.filter((s) => s.service === 'shop-api' && s.name === 'web.request')
    expect(targetSpans).toHaveLength(requests)
    for (const child of targetSpans) {
      const parent = bySpanId.get(child.parent_id)
      expect(parent, `target span ${child.span_id} has no worker parent`).toBeDefined()
      expect(child.trace_id).toBe(parent?.trace_id)
    }

    // Headers: Datadog's and W3C's, both naming the worker's span, kept (priority 2: we sampled already).
    const seen = seenRequests(target)
    expect(seen).toHaveLength(requests)
    for (const request of seen) {
      const span = bySpanId.get(BigInt(request.parentId ?? '0'))
      expect(span, JSON.stringify(request)).toBeDefined()
      expect(BigInt(request.traceId ?? '0')).toBe(span?.trace_id)
      expect(request.priority).toBe('2')
      // traceparent: 00-<128-bit trace id>-<64-bit parent id>-<flags>, the same ids in hex.
      const [, traceHex, parentHex] = (request.traceparent ?? '').split('-')
      expect(BigInt(`0x${(traceHex ?? '').slice(16)}`)).toBe(span?.trace_id)
      expect(BigInt(`0x${parentHex ?? ''}`)).toBe(span?.span_id)
    }

    // result.json keeps a few trace ids per endpoint: its slowest and its failed requests, all real spans.
    expect(result.tracing?.sample).toBe(1)
    const samples = result.tracing?.samples ?? {}
    expect(Object.keys(samples).sort()).toEqual(['GET /fail', 'GET /items'])
    const byTraceId = new Map(workerSpans().map((s) => [s.trace_id.toString(), s]))
    const items = samples['GET /items']
    expect(items?.slowest.length).toBe(3)
    expect(items?.failed).toEqual([])
    // The span encloses the request's own timing, so span durations rank the same requests.
    const itemSpans = workerSpans()
      .filter((s) => s.resource === 'GET /items')
      .map((s) => s.duration_ns / 1e6)
      .sort((a, b) => b - a)
    const fourthSlowestMs = itemSpans[3] ?? 0
    for (const sample of items?.slowest ?? []) {
      const span = byTraceId.get(sample.traceId)
      expect(span?.resource).toBe('GET /items')
      expect(span?.error).toBe(0)
      expect(sample.durationMs).toBeLessThanOrEqual((span?.duration_ns ?? 0) / 1e6 + 1)
      // Among the slowest: no kept sample is beaten by more than three other requests.
      expect((span?.duration_ns ?? 0) / 1e6).toBeGreaterThanOrEqual(fourthSlowestMs)
    }
    const failed = samples['GET /fail']?.failed ?? []
    expect(failed.length).toBe(3)
    for (const sample of failed) expect(byTraceId.get(sample.traceId)?.error).toBe(1)
    // …and the report links each endpoint to those traces.
    const html = renderReport(result, { datadog: { site: 'datadoghq.com' } })
    for (const sample of [...(items?.slowest ?? []), ...failed])
      expect(html).toContain(`https://app.datadoghq.com/apm/trace/${sample.traceId}`)

    // dd-trace was loaded by the workers (the probe's positive control for the "off" test below).
    const loaded = probes(probeDir).filter((p) => p.argv.includes('worker'))
    expect(loaded).toHaveLength(2)
    for (const p of loaded) expect(p.ddTraceFiles).toBeGreaterThan(0)

    // Live metrics: every second of the time series, stamped with its second, equal to result.json (the last
    // value sent for a second counts, as in Datadog: a late report makes the master send a second again).
    const tagged = agent.metrics.filter((m) => m.tags.run_id === result.runId)
    const rps = new Map(tagged.filter((m) => m.name === MASTER_METRICS.rps).map((m) => [m.timestampSec, m]))
    expect(rps.size).toBe(result.timeSeries.length)
    for (const point of result.timeSeries) {
      const second = point.timeMs / 1000
      const metric = rps.get(second)
      expect(metric, `no horde.rps for second ${second}`).toBeDefined()
      expect(metric?.value).toBe(point.rps)
      expect(metric?.tags).toMatchObject({
        scenario: 'traced',
        env: 'loadtest-ci',
        service: 'horde-ci',
        version: '9.9.9',
      })
      const of = (name: string): number | undefined =>
        tagged.findLast((m) => m.name === name && m.timestampSec === second)?.value
      expect(of(MASTER_METRICS.users)).toBe(point.users)
      expect(of(MASTER_METRICS.workers)).toBe(point.workers)
      expect(of(MASTER_METRICS.failuresPerSec)).toBe(point.failuresPerSec)
      expect(of(MASTER_METRICS.p95Ms) ?? null).toBe(point.p95Ms)
      expect(of(MASTER_METRICS.p99Ms) ?? null).toBe(point.p99Ms)
    }
    // Sent while the run went on, a second at a time, not all at the end (each second's first sending: a
    // correction of an earlier second may go out in the same tick as a new one).
    const firstSent = new Map<number | null, number>()
    for (const m of tagged.filter((t) => t.name === MASTER_METRICS.rps))
      if (!firstSent.has(m.timestampSec)) firstSent.set(m.timestampSec, m.receivedAtMs)
    const received = [...firstSent.values()].sort((a, b) => a - b)
    const duringRun = received.filter((t) => t < result.endedAtMs)
    expect(duringRun.length).toBeGreaterThanOrEqual(2)
    expect(new Set(duringRun.map((t) => Math.floor(t / 1000))).size).toBe(duringRun.length)

    // Each worker sends its CPU and loop-blocked seconds, tagged with the run and itself.
    for (const name of [WORKER_METRICS.cpuPercent, WORKER_METRICS.loopBlockedSeconds]) {
      const perWorker = agent.metrics.filter((m) => m.name === name && m.tags.run_id === result.runId)
      expect(new Set(perWorker.map((m) => m.tags.worker_id)).size).toBe(2)
      expect(perWorker[0]?.tags).toMatchObject({
        env: 'loadtest-ci',
        service: 'horde-ci',
        scenario: 'traced',
      })
    }
  }, 120_000)

  it('tracing off loads no dd-trace and sends nothing; a dead agent costs nothing: same totals as served', async () => {
    // A port nothing listens on, for both traces and DogStatsD.
    const deadPort = await freePort()
    agent = await startFakeDatadogAgent()
    const started = await startTracedTarget(agent)
    target = started.process
    const common = ['-u', '2', '-r', '2', '-t', '4s', '-w', '1', '--host', started.url]

    const probeDir = mkdtempSync(join(out, 'probe-off-'))
    run = hordeRun([join(SCENARIOS, 'untraced.ts'), ...common, '--out', join(out, 'off')], {
      ...DD_ENV,
      DD_TRACE_AGENT_URL: agent.traceUrl,
      NODE_OPTIONS: `--import=${join(HELPERS, 'module-probe.mjs')}`,
      HORDE_TEST_PROBE_DIR: probeDir,
    })
    expect(await run.exited, run.output()).toBe(0)
    const off = JSON.parse(readFileSync(join(out, 'off', 'result.json'), 'utf8')) as MasterRunResult
    const workers = probes(probeDir).filter((p) => p.argv.includes('worker'))
    expect(workers).toHaveLength(1)
    expect(workers[0]?.ddTraceFiles).toBe(0)
    expect(agent.spans.filter((s) => s.service === 'horde-ci')).toHaveLength(0)
    expect(agent.metrics).toHaveLength(0)
    // Untraced requests carry no trace headers, so the target starts its own traces.
    expect(seenRequests(target).every((r) => r.traceId === null && r.traceparent === null)).toBe(true)
    const servedBefore = seenRequests(target).length
    expect(off.totals.requests + (off.warmupTotals?.requests ?? 0)).toBe(servedBefore)

    // Tracing and metrics on, but the agent is dead: the run passes and counts exactly what was served.
    run = hordeRun(
      [
        join(SCENARIOS, 'untraced.ts'),
        ...common,
        '--out',
        join(out, 'dead'),
        '--trace',
        '--trace-sample',
        '1',
        '--statsd',
        `127.0.0.1:${deadPort}`,
      ],
      { ...DD_ENV, DD_TRACE_AGENT_URL: `http://127.0.0.1:${deadPort}` },
    )
    expect(await run.exited, run.output()).toBe(0)
    const dead = JSON.parse(readFileSync(join(out, 'dead', 'result.json'), 'utf8')) as MasterRunResult
    expect(dead.verdict).toBe('pass')
    const served = seenRequests(target).slice(servedBefore)
    expect(dead.totals.requests + (dead.warmupTotals?.requests ?? 0)).toBe(served.length)
    // The headers still went out (tracing was on), whatever happened to the spans.
    expect(served.every((r) => r.traceId !== null && r.traceparent !== null)).toBe(true)
    // A run of 4 s with 2 users at 10/s each: the dead agent did not slow the users down.
    expect(dead.totals.requests).toBeGreaterThan(off.totals.requests * 0.7)
  }, 120_000)
})
