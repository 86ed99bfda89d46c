import type { RunResult } from '../src/shared/result.js'
import { TX_TYPE } from '../src/shared/db-row-types.js'
import { POOL_SATURATED_P95_MS, dbSummary } from './db-summary.js'
import { formatCount, formatMs, formatPercent, formatRate } from './format.js'

/** Transaction types the job summary lists, busiest first. */
const TOP_TRANSACTIONS = 10

/**
 * The job summary's database section (Markdown lines): per transaction type tps, count, failures, p50/p95/p99
 * and the pool wait before it; nothing for a run without database rows. `escape` is the summary's own escaping
 * of run text (report/job-summary.ts).
 */
export function dbJobSummaryLines(result: RunResult, escape: (text: string) => string): string[] {
  const summary = dbSummary(result)
  if (summary === null) return []
  const shown = summary.transactions.slice(0, TOP_TRANSACTIONS)
  const heading = summary.type === TX_TYPE ? 'Transactions' : 'Queries'
  const more =
    summary.transactions.length > shown.length ? ` (${shown.length} of ${summary.transactions.length})` : ''
  const lines = [
    `### ${heading}${more}`,
    '',
    '| Name | tps | Count | Failures | p50 | p95 | p99 | Pool wait p95 | Pool wait max |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const { row, poolWait } of shown) {
    lines.push(
      `| ${escape(row.name)} | ${formatRate(row.rps)} | ${formatCount(row.requests)} | ${formatCount(row.failures)} | ${formatMs(row.p50Ms)} | ${formatMs(row.p95Ms)} | ${formatMs(row.p99Ms)} | ${formatMs(poolWait?.p95Ms)} | ${formatMs(poolWait?.maxMs)} |`,
    )
  }
  lines.push('')
  if (summary.poolSaturatedShare !== null) {
    lines.push(
      `Connection pool saturated (wait p95 ≥ ${formatMs(POOL_SATURATED_P95_MS)}) in ${formatPercent(summary.poolSaturatedShare, 0)} of ${summary.measuredSeconds} measured seconds; longest wait ${formatMs(summary.poolWaitMaxMs)}.`,
      '',
    )
  }
  return lines
}
