import type { RunResult } from './result.js'

/**
 * The one CSV writer: the master writes these files next to result.json, and the report writes the same ones
 * (same columns, same cells) for a result.json that came without them. Locust's column order, so existing
 * spreadsheets and scripts keep working; text a spreadsheet would run as a formula is prefixed with '.
 */
export interface CsvFile {
  name: string
  body: string
}

export const CSV_FILES = {
  stats: 'stats.csv',
  histogram: 'histogram.csv',
  throughput: 'throughput.csv',
  failures: 'failures.csv',
} as const

/** Locust's percentile columns in `<prefix>_stats.csv`. */
export const LOCUST_PERCENTILES = [0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1] as const

/** One line of stats.csv, from the master's full histograms or from result.json's summary. */
export interface StatsCsvRow {
  type: string
  name: string
  requests: number
  failures: number
  avgMs: number | null
  minMs: number | null
  maxMs: number | null
  avgBytes: number
  rps: number
  failuresPerSec: number
  /** null where the source does not know that percentile (written N/A, as Locust does without data). */
  percentileMs: (fraction: number) => number | null
}

export type Cell = string | number | null

function cell(value: Cell): string {
  if (value === null) return 'N/A'
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000)
  // A spreadsheet runs a cell starting with = + - @ (or a tab/CR before one) as a formula: endpoint names and
  // error texts come from the target and the scenario, so they are defused.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}

/** One CSV line, every cell defused against spreadsheet formulas: the one way Horde writes CSV. */
export function csvLine(cells: Cell[]): string {
  return cells.map(cell).join(',')
}

const iso = (ms: number | null | undefined): string =>
  ms === null || ms === undefined ? '' : new Date(ms).toISOString()

export function statsCsv(rows: readonly StatsCsvRow[]): string {
  const header =
    'Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%'
  return [
    header,
    ...rows.map((row) =>
      csvLine([
        row.type,
        row.name,
        row.requests,
        row.failures,
        row.percentileMs(0.5) ?? 0,
        row.avgMs ?? 0,
        row.minMs ?? 0,
        row.maxMs ?? 0,
        row.avgBytes,
        row.rps,
        row.failuresPerSec,
        ...LOCUST_PERCENTILES.map((p) => row.percentileMs(p)),
      ]),
    ),
  ].join('\n')
}

/** stats.csv's rows from result.json: the percentiles it keeps (50, 90, 95, 99, 99.9 and the max). */
export function statsRowsFromResult(result: RunResult): StatsCsvRow[] {
  const known = (s: {
    p50Ms: number | null
    p90Ms: number | null
    p95Ms: number | null
    p99Ms: number | null
    p999Ms: number | null
    maxMs: number | null
  }): ((fraction: number) => number | null) => {
    const table = new Map<number, number | null>([
      [0.5, s.p50Ms],
      [0.9, s.p90Ms],
      [0.95, s.p95Ms],
      [0.99, s.p99Ms],
      [0.999, s.p999Ms],
      [1, s.maxMs],
    ])
    return (fraction) => table.get(fraction) ?? null
  }
  const measuredSeconds = Math.max(0.001, (result.measuredToMs - result.measuredFromMs) / 1000)
  const t = result.totals
  return [
    ...result.endpoints.map((e) => ({
      type: e.method,
      name: e.name,
      requests: e.requests,
      failures: e.failures,
      avgMs: e.avgMs,
      minMs: e.minMs,
      maxMs: e.maxMs,
      avgBytes: e.avgBytes,
      rps: e.rps,
      failuresPerSec: e.failuresPerSec,
      percentileMs: known(e),
    })),
    {
      type: '',
      name: 'Aggregated',
      requests: t.requests,
      failures: t.failures,
      avgMs: t.avgMs,
      minMs: t.minMs,
      maxMs: t.maxMs,
      avgBytes: t.requests > 0 ? t.totalBytes / t.requests : 0,
      rps: t.rps,
      failuresPerSec: t.failures / measuredSeconds,
      percentileMs: known(t),
    },
  ]
}

/** JdbcRunner's response-time histogram: one line per bucket of the measured window. */
export function histogramCsv(result: RunResult): string {
  return ['Response Time (ms),Count', ...result.histogram.map(([ms, count]) => csvLine([ms, count]))].join(
    '\n',
  )
}

/** JdbcRunner's throughput time series (and Locust's stats history): one line per second. */
export function throughputCsv(result: RunResult): string {
  const start = result.timeSeries[0]?.timeMs ?? 0
  return [
    'Timestamp,Elapsed (s),Phase,Warm-up,Users,Workers,Requests/s,Failures/s,50%,95%,99%,Target RPS,Dropped Iterations',
    ...result.timeSeries.map((p) =>
      csvLine([
        new Date(p.timeMs).toISOString(),
        (p.timeMs - start) / 1000,
        p.phase ?? '',
        p.warmup ? 'yes' : 'no',
        p.users,
        p.workers,
        p.rps,
        p.failuresPerSec,
        p.p50Ms,
        p.p95Ms,
        p.p99Ms,
        p.targetRps ?? '',
        p.droppedIterations ?? '',
      ]),
    ),
  ].join('\n')
}

export function failuresCsv(result: RunResult): string {
  return [
    'Method,Name,Error,Occurrences,First Seen,Last Seen',
    ...result.errors.map((e) =>
      csvLine([e.method, e.name, e.error, e.occurrences, iso(e.firstSeenMs), iso(e.lastSeenMs)]),
    ),
  ].join('\n')
}

/**
 * The run's CSV files. `statsRows`: the master passes rows with every Locust percentile from its histograms;
 * the report, which has only result.json, leaves the default. `withHistogram`: the report's downloads list the
 * three Locust-style files only.
 */
export function runCsvFiles(
  result: RunResult,
  statsRows: readonly StatsCsvRow[] = statsRowsFromResult(result),
  withHistogram = true,
): CsvFile[] {
  return [
    { name: CSV_FILES.stats, body: `${statsCsv(statsRows)}\n` },
    ...(withHistogram ? [{ name: CSV_FILES.histogram, body: `${histogramCsv(result)}\n` }] : []),
    { name: CSV_FILES.throughput, body: `${throughputCsv(result)}\n` },
    { name: CSV_FILES.failures, body: `${failuresCsv(result)}\n` },
  ]
}
