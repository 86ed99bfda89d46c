import type { EndpointResult, RunResult } from '../src/shared/result.js'

/**
 * Baseline comparison: "is it worse than last time". A change counts as a regression only when it is both
 * relatively large (tolerance, default 10 %) and absolutely meaningful (1 ms for latency, 0.1 percentage
 * point for failure rate), so that noise on a 2 ms endpoint is not painted red.
 */
export type Direction = 'lower-is-better' | 'higher-is-better'

export interface Delta {
  current: number | null
  baseline: number | null
  /** (current - baseline) / baseline; null when either side is missing or the baseline is 0. */
  ratio: number | null
  /** Absolute change, in the metric's unit. */
  change: number | null
  regression: boolean
  improvement: boolean
}

export interface EndpointDelta {
  key: string
  p50: Delta
  p95: Delta
  p99: Delta
  rps: Delta
  failureRate: Delta
  /** The endpoint did not exist in the baseline. */
  isNew: boolean
}

export interface Comparison {
  baselineRunId: string
  baselineStartedAtMs: number
  baselineVerdict: RunResult['verdict']
  /** 'explicit' when asked for with --baseline, else the previous passing run of the scenario. */
  chosenBy: 'explicit' | 'previous-pass'
  headline: { rps: Delta; p50: Delta; p95: Delta; p99: Delta; failureRate: Delta; requests: Delta }
  endpoints: Map<string, EndpointDelta>
  /** Endpoints present in the baseline but not in this run. */
  missingEndpoints: string[]
  /** One line per regression, for the banner and the job summary. */
  regressions: string[]
}

export interface CompareOptions {
  /** Relative change that counts, default 0.1 (10 %). */
  tolerance?: number
}

export const endpointKey = (e: Pick<EndpointResult, 'method' | 'name'>): string => `${e.method} ${e.name}`

function delta(
  current: number | null | undefined,
  baseline: number | null | undefined,
  direction: Direction,
  tolerance: number,
  minAbs: number,
): Delta {
  const c = current ?? null
  const b = baseline ?? null
  if (c === null || b === null || !Number.isFinite(c) || !Number.isFinite(b)) {
    return { current: c, baseline: b, ratio: null, change: null, regression: false, improvement: false }
  }
  const change = c - b
  const ratio = b === 0 ? (c === 0 ? 0 : null) : change / b
  const worse = direction === 'lower-is-better' ? change > 0 : change < 0
  const big = Math.abs(change) >= minAbs && (ratio === null || Math.abs(ratio) >= tolerance)
  return { current: c, baseline: b, ratio, change, regression: big && worse, improvement: big && !worse }
}

const rate = (failures: number, requests: number): number => (requests > 0 ? failures / requests : 0)

export function compareRuns(
  current: RunResult,
  baseline: RunResult,
  chosenBy: Comparison['chosenBy'],
  options: CompareOptions = {},
): Comparison {
  const tol = options.tolerance ?? 0.1
  const latency = (c: number | null | undefined, b: number | null | undefined): Delta =>
    delta(c, b, 'lower-is-better', tol, 1)
  const failures = (c: number, b: number): Delta => delta(c, b, 'lower-is-better', tol, 0.001)
  const throughput = (c: number, b: number): Delta => delta(c, b, 'higher-is-better', tol, 0.5)

  const headline = {
    rps: throughput(current.totals.rps, baseline.totals.rps),
    p50: latency(current.totals.p50Ms, baseline.totals.p50Ms),
    p95: latency(current.totals.p95Ms, baseline.totals.p95Ms),
    p99: latency(current.totals.p99Ms, baseline.totals.p99Ms),
    failureRate: failures(current.totals.failureRate, baseline.totals.failureRate),
    requests: delta(
      current.totals.requests,
      baseline.totals.requests,
      'higher-is-better',
      Infinity,
      Infinity,
    ),
  }

  const before = new Map(baseline.endpoints.map((e) => [endpointKey(e), e]))
  const endpoints = new Map<string, EndpointDelta>()
  const regressions: string[] = []
  const describe = (label: string, d: Delta, unit: string): string =>
    `${label} ${unit === '%' ? `${((d.baseline ?? 0) * 100).toFixed(2)} % → ${((d.current ?? 0) * 100).toFixed(2)} %` : `${round(d.baseline)}${unit} → ${round(d.current)}${unit}`}`

  if (headline.p95.regression) regressions.push(describe('p95', headline.p95, ' ms'))
  if (headline.p99.regression) regressions.push(describe('p99', headline.p99, ' ms'))
  if (headline.rps.regression) regressions.push(describe('throughput', headline.rps, ' req/s'))
  if (headline.failureRate.regression) regressions.push(describe('failure rate', headline.failureRate, '%'))

  for (const e of current.endpoints) {
    const key = endpointKey(e)
    const b = before.get(key)
    const d: EndpointDelta = {
      key,
      p50: latency(e.p50Ms, b?.p50Ms),
      p95: latency(e.p95Ms, b?.p95Ms),
      p99: latency(e.p99Ms, b?.p99Ms),
      rps: throughput(e.rps, b?.rps ?? NaN),
      failureRate: failures(
        rate(e.failures, e.requests),
        b === undefined ? NaN : rate(b.failures, b.requests),
      ),
      isNew: b === undefined,
    }
    endpoints.set(key, d)
    if (d.p95.regression) regressions.push(describe(`${key}: p95`, d.p95, ' ms'))
    if (d.failureRate.regression) regressions.push(describe(`${key}: failure rate`, d.failureRate, '%'))
  }
  const missingEndpoints = [...before.keys()].filter((k) => !endpoints.has(k))

  return {
    baselineRunId: baseline.runId,
    baselineStartedAtMs: baseline.startedAtMs,
    baselineVerdict: baseline.verdict,
    chosenBy,
    headline,
    endpoints,
    missingEndpoints,
    regressions,
  }
}

function round(n: number | null): string {
  if (n === null) return '—'
  return Math.abs(n) >= 100 ? String(Math.round(n)) : String(Number(n.toFixed(1)))
}

/**
 * The baseline for a run: the explicitly named run, or else the newest earlier run of the same scenario
 * that passed. Works on summaries so a history of hundreds of runs is cheap to search.
 */
export function chooseBaseline<
  T extends { runId: string; scenario: string; verdict: string; startedAtMs: number },
>(
  current: { runId: string; scenario: string; startedAtMs: number },
  candidates: readonly T[],
  explicitRunId?: string,
): { run: T; chosenBy: Comparison['chosenBy'] } | undefined {
  if (explicitRunId !== undefined) {
    const run = candidates.find((c) => c.runId === explicitRunId)
    return run === undefined ? undefined : { run, chosenBy: 'explicit' }
  }
  let best: T | undefined
  for (const c of candidates) {
    if (c.runId === current.runId || c.scenario !== current.scenario || c.verdict !== 'pass') continue
    if (c.startedAtMs >= current.startedAtMs) continue
    if (best === undefined || c.startedAtMs > best.startedAtMs) best = c
  }
  return best === undefined ? undefined : { run: best, chosenBy: 'previous-pass' }
}
