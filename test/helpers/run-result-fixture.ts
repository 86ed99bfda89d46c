import {
  RESULT_SCHEMA_VERSION,
  type EndpointResult,
  type ErrorResult,
  type OpenModelResult,
  type RunEvent,
  type RunResult,
  type TimePoint,
  type Verdict,
} from '../../src/shared/result.js'

/**
 * Realistic result.json documents for report tests and benchmarks, until (and alongside) results written by
 * the real master. Deterministic for a given seed. The shape of a run: users ramp up, a warm-up is excluded,
 * one worker goes missing part-way, and latency degrades towards the end so that charts and deltas have
 * something to show.
 */
export interface FixtureOptions {
  runId?: string
  scenario?: string
  startedAtMs?: number
  durationS?: number
  warmupS?: number
  endpoints?: number
  users?: number
  workers?: number
  seed?: number
  /** Multiplies every latency: 1.3 makes a run 30 % slower than the same seed at 1. */
  latencyFactor?: number
  /** Share of requests that fail, before the degradation at the end. */
  failureRate?: number
  verdict?: Verdict
  /** Open model: a global target rate. */
  targetRps?: number
  /** Emit the optional per-endpoint time series (large for long runs). */
  perEndpointSeries?: boolean
  /** Put markup and script-breaking text into every field that comes from a run. */
  malicious?: boolean
  /** Emit a lost worker and the stage change events. */
  incidents?: boolean
}

export const MALICIOUS_NAME = '/search?q=</script><script>window.__pwned=1</script>'
export const MALICIOUS_ERROR = `HTTPError: 500 <img src=x onerror="window.__pwned=2"> </script><script>window.__pwned=3</script> \u2028 & done`
export const MALICIOUS_EVENT =
  'worker <svg onload="window.__pwned=4"> lost </script><script>window.__pwned=5</script>'

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const round = (n: number, digits = 1): number => Number(n.toFixed(digits))

const PATHS = [
  '/',
  '/api/items',
  '/api/items/:id',
  '/api/cart',
  '/api/checkout',
  '/login',
  '/api/search',
  '/static/app.js',
  '/api/orders',
  '/api/profile',
  '/api/recommendations',
  '/health',
]
const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'GET', 'GET', 'GET', 'PUT', 'GET', 'GET']

export function makeRunResult(options: FixtureOptions = {}): RunResult {
  const seed = options.seed ?? 1
  const random = rng(seed)
  const durationS = options.durationS ?? 300
  const warmupS = options.warmupS ?? Math.min(30, Math.floor(durationS / 10))
  const endpointCount = options.endpoints ?? 12
  const users = options.users ?? 50
  const workerCount = options.workers ?? 2
  const latencyFactor = options.latencyFactor ?? 1
  const baseFailureRate = options.failureRate ?? 0.002
  const startedAtMs = options.startedAtMs ?? Date.UTC(2025, 2, 14, 9, 30, 0)
  const runId = options.runId ?? `run-${seed}`
  const scenario = options.scenario ?? (options.malicious ? 'checkout <b>bold</b>' : 'checkout-flow')
  const spawnRate = Math.max(1, Math.round(users / 20))
  const incidents = options.incidents ?? true
  const malicious = options.malicious ?? false
  const openModel = options.targetRps !== undefined

  const endpoints = Array.from({ length: endpointCount }, (_, i) => {
    const path = PATHS[i % PATHS.length] ?? '/'
    const method = METHODS[i % METHODS.length] ?? 'GET'
    const name =
      malicious && i === 1
        ? MALICIOUS_NAME
        : i < PATHS.length
          ? path
          : `${path}/v${Math.floor(i / PATHS.length)}`
    return {
      method,
      name,
      weight: 1 + ((i * 7) % 5),
      baseMs: (15 + ((i * 37) % 120)) * latencyFactor,
      bytes: 200 + ((i * 997) % 8000),
    }
  })
  const totalWeight = endpoints.reduce((a, e) => a + e.weight, 0)

  const breakAt = Math.floor(durationS * 0.75)
  const lostAt = Math.floor(durationS * 0.55)
  const rpsPerUser = 4
  const timeSeries: TimePoint[] = []
  for (let s = 0; s < durationS; s++) {
    const u = Math.min(users, spawnRate * (s + 1))
    const live = incidents && s >= lostAt && s < lostAt + 20 ? workerCount - 1 : workerCount
    const degraded = s >= breakAt ? 1 + ((s - breakAt) / Math.max(1, durationS - breakAt)) * 1.8 : 1
    const noise = 0.93 + random() * 0.14
    const capacity = openModel ? (options.targetRps ?? 0) : u * rpsPerUser
    let rps = (capacity * noise * (live / workerCount)) / Math.sqrt(degraded)
    const p50 = 40 * latencyFactor * degraded * (0.95 + random() * 0.1)
    const failureRate = baseFailureRate * (s >= breakAt ? 1 + degraded * 6 : 1)
    const point: TimePoint = {
      timeMs: startedAtMs + s * 1000,
      users: openModel ? Math.round(rps * 0.05) : u,
      workers: live,
      rps: round(rps),
      failuresPerSec: round(rps * failureRate, 2),
      p50Ms: round(p50),
      p95Ms: round(p50 * 3.1),
      p99Ms: round(p50 * 5.7),
      warmup: s < warmupS,
      phase: s < durationS / 2 ? 'stage 1' : 'stage 2',
    }
    if (openModel) {
      const target = options.targetRps ?? 0
      const dropped = s >= breakAt ? Math.round(target * 0.08 * degraded) : 0
      rps = Math.min(rps, target - dropped)
      point.rps = round(rps)
      point.targetRps = target
      point.droppedIterations = dropped
      point.iterationsStarted = Math.round(rps)
    }
    if (options.perEndpointSeries ?? true) {
      const map: NonNullable<TimePoint['endpoints']> = {}
      for (const e of endpoints) {
        const share = e.weight / totalWeight
        map[`${e.method} ${e.name}`] = {
          rps: round(rps * share, 2),
          failuresPerSec: round(rps * share * failureRate, 3),
          p95Ms: round(e.baseMs * degraded * 3 * (0.9 + random() * 0.2)),
        }
      }
      point.endpoints = map
    }
    timeSeries.push(point)
  }

  const measured = timeSeries.filter((p) => !p.warmup)
  const measuredS = Math.max(1, measured.length)
  const totalRequests = Math.round(measured.reduce((a, p) => a + p.rps, 0))
  const totalFailures = Math.round(measured.reduce((a, p) => a + p.failuresPerSec, 0))
  const meanDegraded = 1 + (Math.max(0, durationS - breakAt) / durationS) * 0.9

  const endpointResults: EndpointResult[] = endpoints.map((e) => {
    const share = e.weight / totalWeight
    const requests = Math.round(totalRequests * share)
    const failures = Math.round(totalFailures * share)
    const p50 = e.baseMs * meanDegraded
    return {
      method: e.method,
      name: e.name,
      requests,
      failures,
      rps: round(requests / measuredS, 2),
      failuresPerSec: round(failures / measuredS, 3),
      avgBytes: e.bytes,
      totalBytes: e.bytes * requests,
      minMs: round(p50 * 0.2),
      maxMs: round(p50 * 14),
      avgMs: round(p50 * 1.25),
      p50Ms: round(p50),
      p90Ms: round(p50 * 2.2),
      p95Ms: round(p50 * 3),
      p99Ms: round(p50 * 5.5),
      p999Ms: round(p50 * 9),
    }
  })

  const errorTexts = [
    "HTTPError('503 Server Error: Service Unavailable')",
    'ConnectionResetError: read ECONNRESET',
    'TimeoutError: request timed out after 10000ms',
    "HTTPError('429 Too Many Requests')",
  ]
  const errors: ErrorResult[] = []
  endpointResults.forEach((e, i) => {
    if (e.failures === 0 || i % 3 !== 0) return
    const text = malicious && i === 0 ? MALICIOUS_ERROR : (errorTexts[i % errorTexts.length] ?? 'error')
    errors.push({
      method: e.method,
      name: e.name,
      error: text,
      occurrences: e.failures,
      firstSeenMs: startedAtMs + warmupS * 1000 + 1234,
      lastSeenMs: startedAtMs + durationS * 1000 - 800,
    })
  })
  errors.sort((a, b) => b.occurrences - a.occurrences)

  // Log-spaced buckets, lognormal-ish counts around the overall median.
  const histogram: Array<[number, number]> = []
  const medianMs = 40 * latencyFactor * meanDegraded
  for (let i = 0; i < 160; i++) {
    const ub = round(Math.pow(10, i / 40), 2) // 1 ms … 10 s
    const z = (Math.log(ub) - Math.log(medianMs)) / 0.7
    const count = Math.round(totalRequests * 0.025 * Math.exp(-0.5 * z * z) * (1 + (z > 1 ? 0.4 : 0)))
    if (count > 0) histogram.push([ub, count])
  }

  const sorted = measured.map((p) => p.p95Ms ?? 0).sort((a, b) => a - b)
  const p95Ms = round(sorted[Math.floor(sorted.length * 0.6)] ?? 0)
  const failureRate = totalRequests === 0 ? 0 : totalFailures / totalRequests
  const thresholds = [
    {
      metric: 'http_req_duration',
      expression: 'p(95)<400',
      observed: p95Ms,
      ok: p95Ms < 400,
      abortOnFail: false,
    },
    {
      metric: 'http_req_failed',
      expression: 'rate<0.01',
      observed: round(failureRate, 5),
      ok: failureRate < 0.01,
      abortOnFail: false,
    },
    {
      metric: `http_req_duration{name:${endpoints[0]?.name ?? '/'}}`,
      expression: 'p(99)<1500',
      observed: endpointResults[0]?.p99Ms ?? null,
      ok: (endpointResults[0]?.p99Ms ?? 0) < 1500,
      abortOnFail: true,
    },
  ]
  const failed = thresholds.filter((t) => !t.ok)
  const verdict: Verdict = options.verdict ?? (failed.length > 0 ? 'fail' : 'pass')
  const verdictReasons =
    verdict === 'pass'
      ? ['All 3 thresholds passed; no worker was lost or saturated.']
      : verdict === 'fail'
        ? failed.map((t) => `Threshold ${t.metric} ${t.expression} failed: observed ${t.observed}.`)
        : verdict === 'invalid'
          ? [
              'Worker w-1 was at ≥ 90 % CPU for 42 s: the generator, not the target, may have been the bottleneck.',
            ]
          : ['Stopped by a stop request from the workflow after 4m12s.']

  const at = (s: number): number => startedAtMs + s * 1000
  const events: RunEvent[] = [
    ...Array.from({ length: workerCount }, (_, i): RunEvent => ({
      timeMs: at(0),
      kind: 'worker-joined',
      message: `worker w-${i} joined`,
      workerId: `w-${i}`,
    })),
    {
      timeMs: at(Math.ceil(users / spawnRate)),
      kind: 'spawn-complete',
      message: `all ${users} users spawned`,
    },
    { timeMs: at(warmupS), kind: 'warmup-ended', message: 'warm-up ended; measuring' },
    { timeMs: at(Math.floor(durationS / 2)), kind: 'stage-started', message: 'stage 2 started' },
  ]
  if (incidents) {
    events.push(
      {
        timeMs: at(lostAt),
        kind: 'worker-missing',
        message: malicious ? MALICIOUS_EVENT : `worker w-${workerCount - 1} missed 3 heartbeats`,
        workerId: `w-${workerCount - 1}`,
      },
      {
        timeMs: at(lostAt + 20),
        kind: 'worker-recovered',
        message: `worker w-${workerCount - 1} recovered`,
        workerId: `w-${workerCount - 1}`,
      },
    )
  }
  events.push({ timeMs: at(durationS), kind: 'stopped', message: 'test finished' })
  events.sort((a, b) => a.timeMs - b.timeMs)

  const workers = Array.from({ length: workerCount }, (_, i) => ({
    id: malicious && i === 0 ? 'w-<svg onload=alert(1)>' : `w-${i}`,
    index: i,
    kind: i === 1 ? '2.12.1' : 'horde',
    maxCpuPercent: round(48 + ((i * 23 + seed * 7) % 45)),
    maxMemoryBytes: (180 + i * 20) * 1024 * 1024,
    saturatedSeconds: verdict === 'invalid' && i === 0 ? 42 : 0,
    missingEvents: incidents && i === workerCount - 1 ? 1 : 0,
  }))

  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId,
    hordeVersion: '0.1.0',
    verdict,
    verdictReasons,
    startedAtMs,
    endedAtMs: at(durationS),
    measuredFromMs: at(warmupS),
    measuredToMs: at(durationS),
    config: {
      scenario,
      scenarioFile: `scenarios/${scenario}.ts`,
      host: malicious ? 'https://admin:hunter2@shop.internal.test:8443/<i>x</i>' : 'http://127.0.0.1:8080',
      users: openModel ? null : users,
      spawnRate: openModel ? null : spawnRate,
      targetRps: options.targetRps ?? null,
      durationMs: durationS * 1000,
      warmupMs: warmupS * 1000,
      workers: workerCount,
      stages: [
        { durationMs: (durationS / 2) * 1000, users: Math.round(users / 2), spawnRate },
        { durationMs: (durationS / 2) * 1000, users, spawnRate },
      ],
      gitCommit: '3f2c9a1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39',
      labels: malicious
        ? {
            ci: 'https://github.test/run/1',
            'note<script>': '<script>alert(1)</script>',
            apiToken: 'tok-secret-123',
          }
        : { ci: 'https://github.test/org/shop/actions/runs/42' },
    },
    totals: {
      requests: totalRequests,
      failures: totalFailures,
      failureRate: round(failureRate, 6),
      rps: round(totalRequests / measuredS, 2),
      totalBytes: endpointResults.reduce((a, e) => a + e.totalBytes, 0),
      minMs: round(medianMs * 0.2),
      maxMs: round(medianMs * 20),
      avgMs: round(medianMs * 1.3),
      p50Ms: round(medianMs),
      p90Ms: round(medianMs * 2.3),
      p95Ms,
      p99Ms: round(p95Ms * 1.8),
      p999Ms: round(p95Ms * 3),
      ...(openModel
        ? { droppedIterations: timeSeries.reduce((a, p) => a + (p.droppedIterations ?? 0), 0) }
        : {}),
    },
    endpoints: endpointResults,
    errors,
    histogram,
    percentileErrorBound: 0.01,
    timeSeries,
    thresholds,
    events,
    workers,
    openModel: openModel ? openModelSection(options.targetRps ?? 0, timeSeries, p95Ms) : null,
  }
}

/** The openModel section a target-rate run has: late starts make the corrected tail worse than the actual. */
function openModelSection(targetRps: number, timeSeries: TimePoint[], p95Ms: number): OpenModelResult {
  const started = timeSeries.reduce((a, p) => a + (p.iterationsStarted ?? 0), 0)
  const dropped = timeSeries.reduce((a, p) => a + (p.droppedIterations ?? 0), 0)
  const seconds = Math.max(1, timeSeries.length)
  const latency = (scale: number) => ({
    minMs: 1,
    maxMs: round(p95Ms * 6 * scale),
    avgMs: round(p95Ms * 0.5 * scale),
    p50Ms: round(p95Ms * 0.4 * scale),
    p90Ms: round(p95Ms * 0.8 * scale),
    p95Ms: round(p95Ms * scale),
    p99Ms: round(p95Ms * 4 * scale),
    p999Ms: round(p95Ms * 5 * scale),
  })
  return {
    startRps: targetRps,
    rateStages: null,
    startedIterations: started,
    droppedIterations: dropped,
    droppedRate: started + dropped > 0 ? round(dropped / (started + dropped), 6) : 0,
    targetRps,
    achievedRps: round(started / seconds, 2),
    dropsExpected: false,
    correctedLatency: latency(1),
    correctedEndpoints: [],
  }
}
