import type { RunResult } from '../src/shared/result.js'

/**
 * CSV downloads for a result.json that came without them (the master writes its own, from the full
 * histograms; those are never overwritten). Same file names and Locust's column order, so existing
 * spreadsheets keep working. Text that a spreadsheet would run as a formula is prefixed with '.
 */
export interface CsvFile {
  name: string
  body: string
}

function cell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return ''
  if (typeof value !== 'string') return String(value)
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

const line = (values: Array<string | number | boolean | null | undefined>): string =>
  values.map(cell).join(',')

export function runCsvFiles(result: RunResult): CsvFile[] {
  const stats = [
    line([
      'Type',
      'Name',
      'Request Count',
      'Failure Count',
      'Median Response Time',
      'Average Response Time',
      'Min Response Time',
      'Max Response Time',
      'Average Content Size',
      'Requests/s',
      'Failures/s',
      '90%',
      '95%',
      '99%',
      '99.9%',
    ]),
    ...result.endpoints.map((e) =>
      line([
        e.method,
        e.name,
        e.requests,
        e.failures,
        e.p50Ms,
        e.avgMs,
        e.minMs,
        e.maxMs,
        e.avgBytes,
        e.rps,
        e.failuresPerSec,
        e.p90Ms,
        e.p95Ms,
        e.p99Ms,
        e.p999Ms,
      ]),
    ),
    line([
      '',
      'Aggregated',
      result.totals.requests,
      result.totals.failures,
      result.totals.p50Ms,
      result.totals.avgMs,
      result.totals.minMs,
      result.totals.maxMs,
      '',
      result.totals.rps,
      '',
      result.totals.p90Ms,
      result.totals.p95Ms,
      result.totals.p99Ms,
      result.totals.p999Ms,
    ]),
  ]
  const history = [
    line([
      'Timestamp',
      'Elapsed (s)',
      'Warm-up',
      'User Count',
      'Workers',
      'Requests/s',
      'Failures/s',
      '50%',
      '95%',
      '99%',
      'Target RPS',
      'Dropped Iterations',
      'Phase',
    ]),
    ...result.timeSeries.map((p) =>
      line([
        new Date(p.timeMs).toISOString(),
        (p.timeMs - result.startedAtMs) / 1000,
        p.warmup,
        p.users,
        p.workers,
        p.rps,
        p.failuresPerSec,
        p.p50Ms,
        p.p95Ms,
        p.p99Ms,
        p.targetRps,
        p.droppedIterations,
        p.phase,
      ]),
    ),
  ]
  const failures = [
    line(['Method', 'Name', 'Error', 'Occurrences', 'First Seen', 'Last Seen']),
    ...result.errors.map((e) =>
      line([e.method, e.name, e.error, e.occurrences, iso(e.firstSeenMs), iso(e.lastSeenMs)]),
    ),
  ]
  return [
    { name: 'stats.csv', body: `${stats.join('\n')}\n` },
    { name: 'throughput.csv', body: `${history.join('\n')}\n` },
    { name: 'failures.csv', body: `${failures.join('\n')}\n` },
  ]
}

function iso(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '' : new Date(ms).toISOString()
}
