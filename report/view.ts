import type { RunResult } from '../src/shared/result.js'
import { chartData, downsample, sparklineSvg } from './chart-data.js'
import { endpointKey, type Comparison, type Delta } from './compare.js'
import {
  formatBytes,
  formatCount,
  formatDelta,
  formatDuration,
  formatMs,
  formatPercent,
  formatRate,
  formatTime,
} from './format.js'
import { datadogLinks, redactLabels, redactUrl, safeHref, type DatadogOptions } from './links.js'
import { safeJson } from './safe-json.js'
import { thresholdValueUnit } from '../src/shared/threshold-syntax.js'
import { eventStyle } from './event-style.js'
import { buildDbView } from './db-view.js'
import { VERDICT_TEXT } from '../src/shared/verdict-text.js'

/** Everything the report template shows, already formatted. Run text stays raw here: Handlebars escapes it. */
export interface ReportViewOptions {
  baseline?: RunResult
  comparison?: Comparison
  /** Relative href of the baseline's report, when it is known to sit beside this one. */
  baselineHref?: string
  datadog?: DatadogOptions
  /** Files offered for download, relative to the report (default: result.json and the CSVs). */
  downloads?: string[]
  /** Relative href of the scenario's run list, when the report sits in a history layout. */
  historyHref?: string
}

export { VERDICT_TEXT }

interface DeltaView {
  text: string
  cls: 'worse' | 'better' | 'same'
  title: string
}

function deltaView(d: Delta | undefined, unit: 'ms' | 'rate' | 'pp'): DeltaView | null {
  if (d === undefined || d.baseline === null || d.current === null) return null
  const cls = d.regression ? 'worse' : d.improvement ? 'better' : 'same'
  const text = unit === 'pp' ? formatPp(d.change) : formatDelta(d.ratio)
  if (text === '') return null
  const before =
    unit === 'ms'
      ? formatMs(d.baseline)
      : unit === 'pp'
        ? formatPercent(d.baseline)
        : `${formatRate(d.baseline)}/s`
  return { text, cls, title: `baseline ${before}` }
}

function formatPp(change: number | null): string {
  if (change === null) return ''
  const pp = change * 100
  if (Math.abs(pp) < 0.005) return '±0 pp'
  return `${pp > 0 ? '+' : ''}${pp.toFixed(2)} pp`
}

const offset = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0')
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s % 60).padStart(2, '0')}`
}

export function buildReportView(result: RunResult, options: ReportViewOptions) {
  const cmp = options.comparison
  const c = result.config
  const t = result.totals
  const dd = datadogLinks(result, options.datadog)
  const openModel = c.targetRps !== null || result.timeSeries.some((p) => p.targetRps !== undefined)

  const kpis = [
    {
      label: 'Requests',
      value: formatCount(t.requests),
      sub: `${formatBytes(t.totalBytes)} received`,
      delta: null,
    },
    {
      label: 'Throughput',
      value: `${formatRate(t.rps)}/s`,
      sub: openModel && c.targetRps ? `target ${formatRate(c.targetRps)}/s` : 'measured window',
      delta: deltaView(cmp?.headline.rps, 'rate'),
    },
    {
      label: 'Failures',
      value: formatPercent(t.failureRate),
      sub: `${formatCount(t.failures)} failed`,
      delta: deltaView(cmp?.headline.failureRate, 'pp'),
      bad: t.failureRate >= 0.01,
    },
    {
      label: 'Median',
      value: formatMs(t.p50Ms),
      sub: `avg ${formatMs(t.avgMs)}`,
      delta: deltaView(cmp?.headline.p50, 'ms'),
    },
    {
      label: 'p95',
      value: formatMs(t.p95Ms),
      sub: `p90 ${formatMs(t.p90Ms)}`,
      delta: deltaView(cmp?.headline.p95, 'ms'),
    },
    {
      label: 'p99',
      value: formatMs(t.p99Ms),
      sub: `max ${formatMs(t.maxMs)}`,
      delta: deltaView(cmp?.headline.p99, 'ms'),
    },
  ]
  const om = result.openModel ?? null
  if (om !== null) {
    // Coordinated omission: the actual-send p99 hides how long iterations waited to start.
    kpis.push({
      label: 'p99 corrected',
      value: formatMs(om.correctedLatency.p99Ms),
      sub: 'from each intended start',
      delta: null,
      bad:
        om.correctedLatency.p99Ms !== null &&
        t.p99Ms !== null &&
        om.correctedLatency.p99Ms > 2 * t.p99Ms + 10,
    })
  }
  if (openModel && t.droppedIterations !== undefined) {
    kpis.push({
      label: 'Dropped',
      value: formatCount(t.droppedIterations),
      sub: 'iterations not started',
      delta: null,
      bad: t.droppedIterations > 0,
    })
  }

  const stagesText =
    c.stages?.map(
      (s, i) =>
        `${i + 1}: ${formatDuration(s.durationMs)} → ${s.users} users${s.spawnRate !== null ? ` @ ${s.spawnRate}/s` : ''}`,
    ) ?? []
  const facts: Array<{ label: string; value: string; href?: string | null; mono?: boolean }> = [
    { label: 'Scenario', value: c.scenario },
    { label: 'Scenario file', value: c.scenarioFile, mono: true },
    { label: 'Host', value: c.host === null ? '—' : redactUrl(c.host), mono: true },
    { label: 'Git commit', value: c.gitCommit === null ? 'unknown' : c.gitCommit.slice(0, 12), mono: true },
    {
      label: openModel ? 'Target rate' : 'Users',
      value: openModel ? `${formatRate(c.targetRps)}/s` : formatCount(c.users),
    },
    ...(om !== null
      ? [
          {
            label: 'Achieved rate',
            value: `${formatRate(om.achievedRps)}/s of ${formatRate(om.targetRps)}/s (${formatPercent(om.targetRps > 0 ? om.achievedRps / om.targetRps : 0)})`,
          },
          {
            label: 'Iterations',
            value: `${formatCount(om.startedIterations)} started, ${formatCount(om.droppedIterations)} dropped${om.dropsExpected ? ' (drops expected)' : ''}`,
          },
        ]
      : []),
    { label: 'Workers', value: formatCount(c.workers) },
    ...(openModel
      ? []
      : [{ label: 'Spawn rate', value: c.spawnRate === null ? '—' : `${c.spawnRate} users/s` }]),
    {
      label: 'Duration',
      value: `${formatDuration(result.endedAtMs - result.startedAtMs)}${c.durationMs !== null ? ` (planned ${formatDuration(c.durationMs)})` : ''}`,
    },
    { label: 'Warm-up', value: c.warmupMs > 0 ? `${formatDuration(c.warmupMs)} (excluded)` : 'none' },
    { label: 'Measured', value: `${formatDuration(result.measuredToMs - result.measuredFromMs)}` },
    { label: 'Started', value: formatTime(result.startedAtMs) },
    { label: 'Ended', value: formatTime(result.endedAtMs) },
    { label: 'Run id', value: result.runId, mono: true },
    { label: 'Horde', value: result.hordeVersion },
    ...redactLabels(c.labels).map((l) => ({ label: l.key, value: l.value, href: safeHref(l.value) })),
  ]

  const firstSeries = new Map<string, Array<number | null>>()
  for (const p of result.timeSeries) {
    if (p.endpoints === undefined) continue
    for (const [key, v] of Object.entries(p.endpoints)) {
      let s = firstSeries.get(key)
      if (s === undefined) firstSeries.set(key, (s = []))
      s.push(v.p95Ms)
    }
  }

  const endpoints = result.endpoints.map((e) => {
    const key = endpointKey(e)
    const d = cmp?.endpoints.get(key)
    const series = firstSeries.get(key)
    return {
      method: e.method,
      name: e.name,
      requests: formatCount(e.requests),
      requestsV: e.requests,
      failures: formatCount(e.failures),
      failuresV: e.failures,
      failurePct: e.requests > 0 && e.failures > 0 ? formatPercent(e.failures / e.requests, 1) : '',
      median: formatMs(e.p50Ms),
      medianV: e.p50Ms ?? -1,
      p90: formatMs(e.p90Ms),
      p90V: e.p90Ms ?? -1,
      p95: formatMs(e.p95Ms),
      p95V: e.p95Ms ?? -1,
      p99: formatMs(e.p99Ms),
      p99V: e.p99Ms ?? -1,
      max: formatMs(e.maxMs),
      maxV: e.maxMs ?? -1,
      avgSize: formatBytes(e.avgBytes),
      avgSizeV: e.avgBytes,
      rps: formatRate(e.rps),
      rpsV: e.rps,
      dP95: d?.isNew ? { text: 'new', cls: 'same', title: 'not in the baseline' } : deltaView(d?.p95, 'ms'),
      dP95V: d?.p95.ratio ?? 0,
      dRps: deltaView(d?.rps, 'rate'),
      dRpsV: d?.rps.ratio ?? 0,
      regression: d !== undefined && (d.p95.regression || d.failureRate.regression),
      spark: series === undefined ? '' : sparklineSvg(downsample(series, 48), { title: 'p95 over time' }),
      traces: dd.endpointTraces?.(e.method, e.name) ?? null,
      traceLinks: traceLinks(result, dd, e.method, e.name),
    }
  })

  const totalErrors = result.errors.reduce((a, e) => a + e.occurrences, 0)
  const errors = result.errors.map((e) => ({
    method: e.method,
    name: e.name,
    error: e.error,
    occurrences: formatCount(e.occurrences),
    occurrencesV: e.occurrences,
    share: totalErrors > 0 ? formatPercent(e.occurrences / totalErrors, 1) : '',
    first: e.firstSeenMs === null ? '—' : `+${offset(e.firstSeenMs - result.startedAtMs)}`,
    last: e.lastSeenMs === null ? '—' : `+${offset(e.lastSeenMs - result.startedAtMs)}`,
  }))

  const MAX_EVENTS = 500
  const events = result.events.slice(0, MAX_EVENTS).map((e) => ({
    at: `+${offset(e.timeMs - result.startedAtMs)}`,
    time: formatTime(e.timeMs),
    kind: e.kind,
    message: e.message,
    cls: eventStyle(e.kind),
  }))

  const workers = result.workers.map((w) => ({
    id: w.id,
    index: w.index,
    kind: w.kind === 'horde' ? 'Horde' : `Locust ${w.kind || '(Python)'}`,
    cpu: `${Math.round(w.maxCpuPercent)} %`,
    cpuPct: Math.min(100, Math.max(0, Math.round(w.maxCpuPercent))),
    cpuCls: w.maxCpuPercent >= 90 ? 'bad' : w.maxCpuPercent >= 75 ? 'warn' : 'good',
    memory: formatBytes(w.maxMemoryBytes),
    saturated: w.saturatedSeconds > 0 ? `${w.saturatedSeconds} s` : '0',
    missing: String(w.missingEvents),
    unhealthy: w.saturatedSeconds > 0 || w.missingEvents > 0,
  }))

  const verdict = VERDICT_TEXT[result.verdict]
  return {
    title: `${verdict.label} · ${c.scenario} · ${formatTime(result.startedAtMs)}`,
    scenario: c.scenario,
    runId: result.runId,
    hordeVersion: result.hordeVersion,
    verdict: {
      kind: result.verdict,
      label: verdict.label,
      summary: verdict.summary,
      reasons: result.verdictReasons,
    },
    startedAt: formatTime(result.startedAtMs),
    durationText: formatDuration(result.endedAtMs - result.startedAtMs),
    loadText: openModel ? `${formatRate(c.targetRps)} req/s target` : `${formatCount(c.users)} users`,
    comparison:
      cmp === undefined
        ? null
        : {
            runId: cmp.baselineRunId,
            startedAt: formatTime(cmp.baselineStartedAtMs),
            chosenBy: cmp.chosenBy === 'explicit' ? 'chosen with --baseline' : 'the previous passing run',
            regressions: cmp.regressions.slice(0, 8),
            moreRegressions: Math.max(0, cmp.regressions.length - 8),
            missing: cmp.missingEndpoints,
            href: options.baselineHref ?? null,
          },
    kpis,
    thresholds: result.thresholds.map((th) => ({
      metric: th.metric,
      expression: th.expression,
      observed: formatObserved(th.metric, th.expression, th.observed),
      ok: th.ok,
      abortOnFail: th.abortOnFail,
      isDefault: th.isDefault === true,
    })),
    thresholdsFailed: result.thresholds.filter((th) => !th.ok).length,
    facts,
    stages: stagesText,
    openModel,
    events,
    moreEvents: Math.max(0, result.events.length - MAX_EVENTS),
    endpoints,
    hasSparks: endpoints.some((e) => e.spark !== ''),
    hasBaseline: cmp !== undefined,
    database: buildDbView(result),
    errors,
    totalErrors: formatCount(totalErrors),
    workers,
    datadog: dd.logs === null ? null : { logs: dd.logs, traces: dd.traces, dashboard: dd.dashboard },
    downloads: (options.downloads ?? ['result.json', 'stats.csv', 'throughput.csv', 'failures.csv']).map(
      (href) => ({ href, label: href }),
    ),
    historyHref: options.historyHref ?? null,
    percentileError: formatPercent(result.percentileErrorBound, 1),
    generatedAt: formatTime(Date.now()),
    chartJson: safeJson(chartData(result, options.baseline)),
  }
}

export type ReportView = ReturnType<typeof buildReportView>

/** Thresholds on rates are shown as percentages, durations in ms, counts as counts. */
export function formatObserved(metric: string, expression: string, observed: number | null): string {
  if (observed === null) return 'no data'
  // The one threshold parser (src/shared) says what the value is, as it did when the master evaluated it.
  const unit = thresholdValueUnit(metric, expression)
  if (unit === 'ratio') return formatPercent(observed, 3)
  if (unit === 'ms') return formatMs(observed)
  return formatRate(observed)
}

/**
 * With tracing on, each endpoint links to the traces of its slowest and failed requests (a few of each, kept by
 * the workers): "slowest 1.2 s", "failed". Nothing without a Datadog site or without tracing.
 */
function traceLinks(
  result: RunResult,
  dd: ReturnType<typeof datadogLinks>,
  method: string,
  name: string,
): Array<{ href: string; label: string; title: string }> {
  const samples = result.tracing?.samples[`${method} ${name}`]
  const trace = dd.trace
  if (samples === undefined || trace === null) return []
  return [
    ...samples.slowest.map((s, i) => ({
      href: trace(s.traceId),
      label: i === 0 ? `slowest ${formatMs(s.durationMs)}` : formatMs(s.durationMs),
      title: `trace of a slow request (${formatMs(s.durationMs)}) in Datadog`,
    })),
    ...samples.failed.map((s, i) => ({
      href: trace(s.traceId),
      label: i === 0 ? 'failed' : `failed ${i + 1}`,
      title: 'trace of a failed request in Datadog',
    })),
  ]
}
