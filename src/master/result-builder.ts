import { HORDE_PERCENTILE_ERROR_BOUND, LOCUST_PERCENTILE_ERROR_BOUND } from '../protocol/horde-extension.js'
import { redactUrlCredentials } from '../shared/redact.js'
import { HORDE_VERSION } from '../shared/logger.js'
import {
  RESULT_SCHEMA_VERSION,
  type EndpointResult,
  type LatencySummary,
  type OpenModelResult,
  type MasterRunResult,
  type RunConfig,
  type ThresholdResult,
  type TimePoint,
} from '../shared/result.js'
import type { SecondBin } from './aggregator.js'
import type { RunOutcome } from './run-outcome.js'
import { planDurationMs, type MasterPlan } from './plan.js'
import { bucketHistogram, type StatsRow } from './stats-row.js'
import { evaluateThreshold, parseThreshold, type OpenWindow } from './thresholds.js'
import type { OpenModelStats } from './open-model-stats.js'
import { decideVerdict } from './verdict.js'

export type { MasterRunResult } from '../shared/result.js'

const round = (value: number | null, digits = 3): number | null =>
  value === null || !Number.isFinite(value) ? null : Math.round(value * 10 ** digits) / 10 ** digits

export function latencySummary(row: StatsRow): LatencySummary {
  const timed = row.timedCount > 0
  return {
    minMs: timed ? round(row.minResponseTimeMs) : null,
    maxMs: timed ? round(row.maxResponseTimeMs) : null,
    avgMs: round(row.avgResponseTimeMs),
    p50Ms: round(row.percentileMs(0.5)),
    p90Ms: round(row.percentileMs(0.9)),
    p95Ms: round(row.percentileMs(0.95)),
    p99Ms: round(row.percentileMs(0.99)),
    p999Ms: round(row.percentileMs(0.999)),
  }
}

export function endpointResult(row: StatsRow, measuredSeconds: number): EndpointResult {
  return {
    method: row.method,
    name: row.name,
    requests: row.requests,
    failures: row.failures,
    rps: round(row.requests / measuredSeconds) ?? 0,
    failuresPerSec: round(row.failures / measuredSeconds) ?? 0,
    avgBytes: row.requests > 0 ? (round(row.totalBytes / row.requests, 1) ?? 0) : 0,
    totalBytes: Math.round(row.totalBytes),
    ...latencySummary(row),
  }
}

export function timePoint(
  bin: SecondBin | undefined,
  second: number,
  previous: TimePoint | undefined,
  warmup: boolean,
  open: OpenModelStats | null,
): TimePoint {
  const point: TimePoint = {
    timeMs: second * 1000,
    users: bin?.users ?? previous?.users ?? 0,
    workers: bin?.workers ?? previous?.workers ?? 0,
    rps: bin?.requests ?? 0,
    failuresPerSec: bin?.failures ?? 0,
    p50Ms: round(bin?.percentileMs(0.5) ?? null),
    p95Ms: round(bin?.percentileMs(0.95) ?? null),
    p99Ms: round(bin?.percentileMs(0.99) ?? null),
    warmup,
  }
  const endpoints = bin?.endpointSeconds()
  if (endpoints !== undefined && endpoints.size > 0) {
    point.endpoints = Object.fromEntries(
      [...endpoints].map(([key, e]) => [
        key,
        { rps: e.requests, failuresPerSec: e.failures, p95Ms: round(e.p95Ms) },
      ]),
    )
  }
  const phase = bin?.phase ?? previous?.phase
  if (phase !== undefined) point.phase = phase
  if (open !== null) {
    const target = open.targetRps.get(second)
    if (target !== undefined) point.targetRps = round(target, 1) ?? 0
    const counts = open.iterations.get(second)
    point.iterationsStarted = counts?.started ?? 0
    point.droppedIterations = counts?.dropped ?? 0
  }
  return point
}

export function buildTimeSeries(outcome: RunOutcome): TimePoint[] {
  if (outcome.loadStartedAtMs === null) return []
  const first = Math.floor(outcome.loadStartedAtMs / 1000)
  const seconds = [...outcome.stats.seconds.keys()]
  const last = Math.max(Math.floor(outcome.measuredToMs / 1000), ...seconds.filter((s) => s >= first))
  const points: TimePoint[] = []
  for (let second = first; second <= last; second++) {
    const warmup = second < outcome.stats.measuredFromSec
    points.push(
      timePoint(
        outcome.stats.seconds.get(second),
        second,
        points[points.length - 1],
        warmup,
        outcome.open ?? null,
      ),
    )
  }
  return points
}

export function runConfig(plan: MasterPlan, workers: number): RunConfig {
  return {
    scenario: plan.scenarioName,
    scenarioFile: plan.scenarioFile,
    // result.json is shared (report, GCS, Slack): the workers got the credentials, the record does not.
    host: plan.host === null ? null : redactUrlCredentials(plan.host),
    users: plan.stages === null ? plan.users : null,
    spawnRate: plan.open === null ? plan.spawnRate : null,
    targetRps: plan.open === null ? null : plan.open.startRps,
    durationMs: planDurationMs(plan),
    warmupMs: plan.warmupMs,
    workers,
    stages:
      plan.stages?.map((stage) => ({
        durationMs: stage.durationMs,
        users: stage.users,
        spawnRate: stage.spawnRate ?? null,
      })) ?? null,
    gitCommit: plan.gitCommit,
    labels: plan.labels,
  }
}

export function evaluateThresholds(plan: MasterPlan, outcome: RunOutcome): ThresholdResult[] {
  const measuredSeconds = Math.max(0.001, (outcome.measuredToMs - outcome.measuredFromMs) / 1000)
  const open = openWindow(outcome)
  return plan.thresholds.map((t) =>
    evaluateThreshold(parseThreshold(t), outcome.stats.measured, measuredSeconds, open),
  )
}

/** The open model's figures over the measured window, for thresholds and the verdict. */
export function openWindow(outcome: RunOutcome): OpenWindow | null {
  const open = outcome.open ?? null
  if (open === null) return null
  const fromSec = Math.floor(outcome.measuredFromMs / 1000)
  const toSec = Math.ceil(outcome.measuredToMs / 1000)
  return { stats: open, ...open.countsBetween(fromSec, toSec) }
}

function openModelResult(
  plan: MasterPlan,
  outcome: RunOutcome,
  measuredSeconds: number,
): OpenModelResult | null {
  const window = openWindow(outcome)
  if (plan.open === null || window === null) return null
  const fromSec = Math.floor(outcome.measuredFromMs / 1000)
  const toSec = Math.ceil(outcome.measuredToMs / 1000)
  const targets = [...window.stats.targetRps].filter(([s]) => s >= fromSec && s < toSec).map(([, r]) => r)
  const scheduled = window.started + window.dropped
  return {
    startRps: plan.open.startRps,
    rateStages: plan.open.stages,
    startedIterations: window.started,
    droppedIterations: window.dropped,
    droppedRate: scheduled > 0 ? (round(window.dropped / scheduled, 6) ?? 0) : 0,
    targetRps: round(targets.reduce((a, b) => a + b, 0) / Math.max(1, targets.length), 1) ?? 0,
    achievedRps: round(window.started / measuredSeconds, 1) ?? 0,
    dropsExpected: plan.open.dropsExpected,
    correctedLatency: window.stats.correctedSummary(),
    correctedEndpoints: window.stats.correctedEndpoints(),
  }
}

/** Turns a finished run into result.json's model, verdict included. */
export function buildResult(plan: MasterPlan, outcome: RunOutcome): MasterRunResult {
  const measured = outcome.stats.measured
  const measuredSeconds = Math.max(0.001, (outcome.measuredToMs - outcome.measuredFromMs) / 1000)
  const thresholds = evaluateThresholds(plan, outcome)
  const { verdict, reasons } = decideVerdict(plan, outcome, thresholds, openWindow(outcome))
  const openModel = openModelResult(plan, outcome, measuredSeconds)
  const rows = [...measured.rows.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || a.method.localeCompare(b.method),
  )
  const highRes = rows.filter((row) => row.highResolution).length
  const percentileSource: MasterRunResult['percentileSource'] =
    rows.length === 0
      ? 'none'
      : highRes === rows.length
        ? 'horde-hdr'
        : highRes === 0
          ? 'locust-buckets'
          : 'mixed'
  const total = measured.total
  const warmupTotal = outcome.stats.warmupTotal
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId: plan.runId,
    hordeVersion: HORDE_VERSION,
    verdict,
    verdictReasons: reasons,
    startedAtMs: outcome.startedAtMs,
    endedAtMs: outcome.endedAtMs,
    measuredFromMs: outcome.measuredFromMs,
    measuredToMs: outcome.measuredToMs,
    config: runConfig(plan, plan.expectWorkers),
    totals: {
      requests: total.requests,
      failures: total.failures,
      failureRate: total.requests > 0 ? (round(total.failures / total.requests, 6) ?? 0) : 0,
      rps: round(total.requests / measuredSeconds) ?? 0,
      totalBytes: Math.round(total.totalBytes),
      ...latencySummary(total),
      ...(openModel !== null ? { droppedIterations: openModel.droppedIterations } : {}),
    },
    endpoints: rows.map((row) => endpointResult(row, measuredSeconds)),
    errors: [...outcome.stats.errors].sort((a, b) => b.occurrences - a.occurrences),
    histogram: bucketHistogram(total),
    percentileErrorBound:
      percentileSource === 'horde-hdr' ? HORDE_PERCENTILE_ERROR_BOUND : LOCUST_PERCENTILE_ERROR_BOUND,
    timeSeries: buildTimeSeries(outcome),
    thresholds,
    events: [...outcome.events],
    workers: outcome.workers.map((w) => ({ ...w, requests: outcome.stats.requestsByWorker.get(w.id) ?? 0 })),
    percentileSource,
    warmupTotals:
      plan.warmupMs > 0 ? { requests: warmupTotal.requests, failures: warmupTotal.failures } : null,
    exceptions: [...outcome.exceptions],
    stopCause: outcome.cause,
    openModel,
    abandonedTasks: outcome.abandonedTasks ?? 0,
    unconfirmedWorkers: [...(outcome.unconfirmedWorkers ?? [])],
  }
}
