import { ScenarioError, describeValue } from './errors.js'

/**
 * k6's threshold vocabulary on Locust-style stats. `http_*` metrics look only at rows whose method is an HTTP
 * method; the generic `req_*` names look at every row (SQL, grpc, custom `measure()` types).
 */
export const THRESHOLD_METRICS = {
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
export type MetricName = keyof typeof THRESHOLD_METRICS
export type MetricKind = (typeof THRESHOLD_METRICS)[MetricName]['kind']

const AGGREGATIONS: Record<MetricKind, string[]> = {
  duration: ['avg', 'min', 'med', 'max', 'p(N)'],
  failed: ['rate'],
  count: ['count', 'rate'],
  corrected: ['avg', 'min', 'med', 'max', 'p(N)'],
  iterations: ['count', 'rate'],
}

export const HTTP_METHODS = new Set([
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'CONNECT',
])

/** A threshold as written: a metric key (with filters) and one condition. */
export interface ThresholdSource {
  metric: string
  expression: string
}

/** What a threshold means, parsed once: the one parser for scenarios, `horde inspect`, the master and the report. */
export interface ParsedThreshold<S extends ThresholdSource = ThresholdSource> {
  source: S
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
export function parseThreshold<S extends ThresholdSource>(source: S): ParsedThreshold<S> {
  const metricMatch = METRIC_PATTERN.exec(source.metric.trim())
  const metricName = metricMatch?.[1]
  if (metricMatch === null || metricName === undefined || !(metricName in THRESHOLD_METRICS)) {
    fail(
      `thresholds key ${describeValue(source.metric)} is not a known metric: use one of ${Object.keys(THRESHOLD_METRICS).join(', ')}, optionally filtered like 'http_req_duration{name:/results}'.`,
    )
  }
  const metric = metricName as MetricName
  const filters: ParsedThreshold<S>['filters'] = {}
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
  const kind = THRESHOLD_METRICS[metric].kind
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
    operator: (operatorText === '===' ? '==' : operatorText) as ParsedThreshold<S>['operator'],
    value: Number(expressionMatch[4]),
  }
}

/**
 * What a threshold's observed value is, for display: a time in ms (durations), a ratio (failure rates), or a
 * plain number (counts and per-second rates). A threshold this Horde cannot parse (a foreign result) is a number.
 */
export function thresholdValueUnit(metric: string, expression: string): 'ms' | 'ratio' | 'number' {
  let kind: MetricKind
  try {
    kind = THRESHOLD_METRICS[parseThreshold({ metric, expression }).metric].kind
  } catch {
    return 'number'
  }
  if (kind === 'duration' || kind === 'corrected') return 'ms'
  return kind === 'failed' ? 'ratio' : 'number'
}
