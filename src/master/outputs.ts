import { writeFile } from 'node:fs/promises'
import { dbOutputFiles } from './db-outputs.js'
import { makeDirectory } from '../shared/output-dir.js'
import { join } from 'node:path'
import type { RunOutcome } from './coordinator.js'
import type { MasterRunResult } from './result-builder.js'
import type { StatsRow } from './stats-row.js'

const LOCUST_PERCENTILES = [0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1]

function csvCell(value: string | number | null): string {
  if (value === null) return 'N/A'
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000)
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

function csvLine(cells: Array<string | number | null>): string {
  return cells.map(csvCell).join(',')
}

/** Locust's `<prefix>_stats.csv` columns, so existing spreadsheets and scripts keep working. */
function statsCsvRow(type: string, name: string, row: StatsRow, measuredSeconds: number): string {
  return csvLine([
    type,
    name,
    row.requests,
    row.failures,
    row.percentileMs(0.5) ?? 0,
    row.avgResponseTimeMs ?? 0,
    row.minResponseTimeMs ?? 0,
    row.maxResponseTimeMs,
    row.requests > 0 ? row.totalBytes / row.requests : 0,
    row.requests / measuredSeconds,
    row.failures / measuredSeconds,
    ...LOCUST_PERCENTILES.map((p) => row.percentileMs(p)),
  ])
}

export function statsCsv(outcome: RunOutcome): string {
  const measuredSeconds = Math.max(0.001, (outcome.measuredToMs - outcome.measuredFromMs) / 1000)
  const header =
    'Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%'
  const rows = [...outcome.aggregator.measured.rows.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || a.method.localeCompare(b.method),
  )
  return [
    header,
    ...rows.map((row) => statsCsvRow(row.method, row.name, row, measuredSeconds)),
    statsCsvRow('', 'Aggregated', outcome.aggregator.measured.total, measuredSeconds),
  ].join('\n')
}

/** JdbcRunner's response-time histogram: one line per bucket of the measured window. */
export function histogramCsv(result: MasterRunResult): string {
  return ['Response Time (ms),Count', ...result.histogram.map(([ms, count]) => csvLine([ms, count]))].join(
    '\n',
  )
}

/** JdbcRunner's throughput time series (and Locust's stats history): one line per second. */
export function throughputCsv(result: MasterRunResult): string {
  const start = result.timeSeries[0]?.timeMs ?? 0
  return [
    'Timestamp,Elapsed (s),Phase,Warm-up,Users,Workers,Requests/s,Failures/s,50%,95%,99%',
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
      ]),
    ),
  ].join('\n')
}

export function failuresCsv(result: MasterRunResult): string {
  return [
    'Method,Name,Error,Occurrences,First Seen,Last Seen',
    ...result.errors.map((e) =>
      csvLine([
        e.method,
        e.name,
        e.error,
        e.occurrences,
        e.firstSeenMs === null ? '' : new Date(e.firstSeenMs).toISOString(),
        e.lastSeenMs === null ? '' : new Date(e.lastSeenMs).toISOString(),
      ]),
    ),
  ].join('\n')
}

export const OUTPUT_FILES = {
  result: 'result.json',
  stats: 'stats.csv',
  histogram: 'histogram.csv',
  throughput: 'throughput.csv',
  failures: 'failures.csv',
} as const

/** Writes result.json and the CSVs into `dir` (created if needed). Returns the paths written. */
export async function writeOutputs(
  dir: string,
  result: MasterRunResult,
  outcome: RunOutcome,
): Promise<string[]> {
  await makeDirectory(dir)
  const files: Array<[string, string]> = [
    [OUTPUT_FILES.result, `${JSON.stringify(result, null, 2)}\n`],
    [OUTPUT_FILES.stats, `${statsCsv(outcome)}\n`],
    [OUTPUT_FILES.histogram, `${histogramCsv(result)}\n`],
    [OUTPUT_FILES.throughput, `${throughputCsv(result)}\n`],
    [OUTPUT_FILES.failures, `${failuresCsv(result)}\n`],
    ...dbOutputFiles(result, outcome), // per transaction type (JdbcRunner), only when the run had transactions
  ]
  const written: string[] = []
  for (const [name, content] of files) {
    const path = join(dir, name)
    await writeFile(path, content)
    written.push(path)
  }
  return written
}
