import { ScenarioError, describeValue } from '../shared/errors.js'
import type { ThresholdResult } from '../shared/result.js'
import type { StatsWindow } from './aggregator.js'
import type { PlanThreshold } from './plan.js'
import { StatsRow } from './stats-row.js'
import type { IterationCounts, OpenModelStats } from './open-model-stats.js'
import { histogramPercentileMs } from '../protocol/horde-extension.js'

/** The open model's figures over the measured window (null in the closed model). */
export interface OpenWindow extends IterationCounts {
  stats: OpenModelStats
}

/**
 * k6's threshold vocabulary on Locust-style stats. `http_*` metrics look only at rows whose method is an HTTP
 * method; the generic `req_*` names look at every row (SQL, grpc, custom `measure()` types).
 */
const METRICS = {
  http_req_duration: { kind: 'duration', httpOnly: true },
  http_req_failed: { kind: 'failed', httpOnly: true },
  http_reqs: { kind: 'count', httpOnly: true },
  req_duration: { kind: 'duration', httpOnly: false },
  req_failed: { kind: 'failed', httpOnly: false },
  reqs: { kind: 'count', httpOnly: false },
  // Open model: response times from each iteration's intended start (coordinated omission corrected).
  http_req_duration_corrected: { kind: 'corrected', httpOnly: true },
  req_duration_corrected: { kind: 'corrected', httpOnly: false },
  // Open model: iterations dropped for want of a free slot, and iterations started.
  dropped_iterations: { kind: 'iterations', httpOnly: false },
  iterations: { kind: 'iterations', httpOnly: false },
} as const
type MetricName = keyof typeof METRICS
type MetricKind = (typeof METRICS)[MetricName]['kind']

const AGGREGATIONS: Record<MetricKind, string[]> = {
  duration: ['avg', 'min', 'med', 'max', 'p(N)'],
  failed: ['rate'],
  count: ['count', 'rate'],
  corrected: ['avg', 'min', 'med', 'max', 'p(N)'],
  iterations: ['count', 'rate'],
}

const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT'])

export interface ParsedThreshold {
  source: PlanThreshold
  metric: MetricName
  filters: { name?: string; method?: string }
  aggregation: string
  percentile: number | null
  operator: '<' | '<=' | '>' | '>=' | '==' | '!='
  value: number
}

const METRIC_PATTERN = /^([a-z_]+)(?:\{(.*)\})?$/
const EXPRESSION_PATTERN =
  /^\s*(avg|min|med|max|rate|count|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/

function fail(message: string): never {
  throw new ScenarioError('HORDE_ERR_SCENARIO_THRESHOLD', message)
}

/** Parses one threshold; throws a ScenarioError naming the threshold and the fix (before any load). */
export function parseThreshold(source: PlanThreshold): ParsedThreshold {
  const metricMatch = METRIC_PATTERN.exec(source.metric.trim())
  const metricName = metricMatch?.[1]
  if (metricMatch === null || metricName === undefined || !(metricName in METRICS)) {
    fail(
      `thresholds key ${describeValue(source.metric)} is not a known metric: use one of ${Object.keys(METRICS).join(', ')}, optionally filtered like 'http_req_duration{name:/results}'.`,
    )
  }
  const metric = metricName as MetricName
  const filters: ParsedThreshold['filters'] = {}
  const tagText = metricMatch[2]
  if (tagText !== undefined && tagText.trim() !== '') {
    for (const part of tagText.split(',')) {
      const colon = part.indexOf(':')
      const tag = part.slice(0, colon).trim()
      const value = part.slice(colon + 1).trim()
      if (colon < 0 || value === '') {
        fail(
          `thresholds key ${describeValue(source.metric)} has a malformed filter ${describeValue(part)}: write {name:/path} or {method:GET}.`,
        )
      }
      if (tag === 'name') filters.name = value
      else if (tag === 'method' || tag === 'type') filters.method = value
      else
        fail(
          `thresholds key ${describeValue(source.metric)} filters on ${describeValue(tag)}: only name and method (or type) are supported.`,
        )
    }
  }
  const expressionMatch = EXPRESSION_PATTERN.exec(source.expression)
  if (expressionMatch === null) {
    fail(
      `threshold ${describeValue(source.expression)} on ${source.metric} is not an expression: write e.g. 'p(95)<400', 'avg<200', 'rate<0.01' or 'count>100'.`,
    )
  }
  const rawAggregation = expressionMatch[1] as string
  const aggregation = rawAggregation.startsWith('p(') ? 'p(N)' : rawAggregation
  const kind = METRICS[metric].kind
  if (!AGGREGATIONS[kind].includes(aggregation)) {
    fail(
      `threshold ${describeValue(source.expression)} uses ${rawAggregation} on ${metric}, which supports ${AGGREGATIONS[kind].join(', ')}.`,
    )
  }
  const percentile = expressionMatch[2] === undefined ? null : Number(expressionMatch[2])
  if (percentile !== null && (percentile <= 0 || percentile > 100)) {
    fail(
      `threshold ${describeValue(source.expression)} asks for percentile ${percentile}: use a number in (0, 100].`,
    )
  }
  const operatorText = expressionMatch[3] as string
  return {
    source,
    metric,
    filters,
    aggregation,
    percentile,
    operator: (operatorText === '===' ? '==' : operatorText) as ParsedThreshold['operator'],
    value: Number(expressionMatch[4]),
  }
}

/** Merges the rows of a window that the threshold looks at. */
function selectRows(threshold: ParsedThreshold, window: StatsWindow): StatsRow {
  const merged = new StatsRow(threshold.filters.method ?? '', threshold.filters.name ?? 'Aggregated')
  const httpOnly = METRICS[threshold.metric].httpOnly
  for (const row of window.rows.values()) {
    if (httpOnly && !HTTP_METHODS.has(row.method.toUpperCase())) continue
    if (threshold.filters.name !== undefined && row.name !== threshold.filters.name) continue
    if (
      threshold.filters.method !== undefined &&
      row.method.toUpperCase() !== threshold.filters.method.toUpperCase()
    ) {
      continue
    }
    merged.addRow(row)
  }
  return merged
}

/** Open-model metrics: iteration counts and the corrected latency. */
function observeOpen(threshold: ParsedThreshold, open: OpenWindow, measuredSeconds: number): number | null {
  const kind = METRICS[threshold.metric].kind
  if (kind === 'iterations') {
    const count = threshold.metric === 'dropped_iterations' ? open.dropped : open.started
    if (threshold.aggregation === 'count') return count
    return measuredSeconds > 0 ? count / measuredSeconds : null
  }
  const httpOnly = METRICS[threshold.metric].httpOnly
  const histogram = open.stats.correctedHistogram(
    (method, name) =>
      (!httpOnly || HTTP_METHODS.has(method.toUpperCase())) &&
      (threshold.filters.name === undefined || name === threshold.filters.name) &&
      (threshold.filters.method === undefined ||
        method.toUpperCase() === threshold.filters.method.toUpperCase()),
  )
  if (histogram === null || histogram.totalCount === 0) return null
  switch (threshold.aggregation) {
    case 'avg':
      return histogram.meanMs
    case 'min':
      return histogram.minMs
    case 'max':
      return histogram.maxMs
    case 'med':
      return histogramPercentileMs(histogram, 50)
    default:
      return histogramPercentileMs(histogram, threshold.percentile ?? 100)
  }
}

/** The value the threshold compares, or null when no request matched (such a threshold fails: it proved nothing). */
export function observe(
  threshold: ParsedThreshold,
  window: StatsWindow,
  measuredSeconds: number,
  open: OpenWindow | null = null,
): number | null {
  const kind = METRICS[threshold.metric].kind
  if (kind === 'corrected' || kind === 'iterations') {
    return open === null ? null : observeOpen(threshold, open, measuredSeconds)
  }
  const row = selectRows(threshold, window)
  if (kind === 'count') {
    if (threshold.aggregation === 'count') return row.requests
    return measuredSeconds > 0 ? row.requests / measuredSeconds : null
  }
  if (row.requests === 0) return null
  if (kind === 'failed') return row.failures / row.requests
  switch (threshold.aggregation) {
    case 'avg':
      return row.avgResponseTimeMs
    case 'min':
      return row.minResponseTimeMs
    case 'max':
      return row.timedCount > 0 ? row.maxResponseTimeMs : null
    case 'med':
      return row.percentileMs(0.5)
    default:
      return row.percentileMs((threshold.percentile ?? 100) / 100)
  }
}

function compare(observed: number, operator: ParsedThreshold['operator'], value: number): boolean {
  switch (operator) {
    case '<':
      return observed < value
    case '<=':
      return observed <= value
    case '>':
      return observed > value
    case '>=':
      return observed >= value
    case '==':
      return observed === value
    case '!=':
      return observed !== value
  }
}

export function evaluateThreshold(
  threshold: ParsedThreshold,
  window: StatsWindow,
  measuredSeconds: number,
  open: OpenWindow | null = null,
): ThresholdResult {
  const observed = observe(threshold, window, measuredSeconds, open)
  const isDefault = threshold.source.isDefault === true
  return {
    metric: threshold.source.metric,
    expression: threshold.source.expression,
    observed: observed === null ? null : Math.round(observed * 1e6) / 1e6,
    // A declared threshold without data fails (it was meant to be checked); the default one has nothing to
    // check in a run without HTTP requests (SQL, custom protocols), and "nothing measured at all" is already
    // an invalid run.
    ok: observed === null ? isDefault : compare(observed, threshold.operator, threshold.value),
    abortOnFail: threshold.source.abortOnFail,
    ...(isDefault ? { isDefault } : {}),
  }
}
