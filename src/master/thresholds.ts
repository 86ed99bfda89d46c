import {
  HTTP_METHODS,
  THRESHOLD_METRICS as METRICS,
  parseThreshold as parseThresholdSyntax,
  type ParsedThreshold as ParsedSyntax,
} from '../shared/threshold-syntax.js'
import type { ThresholdResult } from '../shared/result.js'
import type { WindowView } from './aggregator.js'
import type { PlanThreshold } from './plan.js'
import { StatsRow } from './stats-row.js'
import type { IterationCounts, OpenModelStats } from './open-model-stats.js'
import { histogramPercentileMs } from '../protocol/horde-extension.js'

/** A plan's threshold, parsed by the one parser in src/shared/threshold-syntax.ts. */
export type ParsedThreshold = ParsedSyntax<PlanThreshold>

/** Parses one threshold; throws a ScenarioError naming the threshold and the fix (before any load). */
export function parseThreshold(source: PlanThreshold): ParsedThreshold {
  return parseThresholdSyntax(source)
}

/** The open model's figures over the measured window (null in the closed model). */
export interface OpenWindow extends IterationCounts {
  stats: OpenModelStats
}

/** Merges the rows of a window that the threshold looks at. */
function selectRows(threshold: ParsedThreshold, window: WindowView): StatsRow {
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
  window: WindowView,
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
  window: WindowView,
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
