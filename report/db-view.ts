import type { RunResult } from '../src/shared/result.js'
import { TX_TYPE } from '../src/shared/db-row-types.js'
import { POOL_SATURATED_P95_MS, TX_CHART_SERIES, dbSummary } from './db-summary.js'
import { formatCount, formatMs, formatPercent, formatRate } from './format.js'

/**
 * The report's database section (templates/partials/database.hbs), formatted: per transaction type its tps,
 * count, failures, p50/p95/p99 and the wait for a pooled connection before it (p95, max, share of measured
 * seconds saturated). Null for a run without database rows, so an HTTP report has no such section.
 */
export function buildDbView(result: RunResult) {
  const summary = dbSummary(result)
  if (summary === null) return null
  const isTx = summary.type === TX_TYPE
  return {
    heading: isTx ? 'Transactions' : 'Queries',
    typeLabel: isTx ? 'Transaction' : 'Query',
    typeWord: isTx ? 'transaction' : 'query',
    count: summary.transactions.length,
    rows: summary.transactions.map(({ row, poolWait, saturatedShare }) => ({
      name: row.name,
      tps: formatRate(row.rps),
      tpsV: row.rps,
      requests: formatCount(row.requests),
      requestsV: row.requests,
      failures: formatCount(row.failures),
      failuresV: row.failures,
      failurePct: row.failures > 0 ? formatPercent(row.failures / Math.max(1, row.requests)) : '',
      p50: formatMs(row.p50Ms),
      p50V: row.p50Ms ?? -1,
      p95: formatMs(row.p95Ms),
      p95V: row.p95Ms ?? -1,
      p99: formatMs(row.p99Ms),
      p99V: row.p99Ms ?? -1,
      waitP95: formatMs(poolWait?.p95Ms),
      waitP95V: poolWait?.p95Ms ?? -1,
      waitMax: formatMs(poolWait?.maxMs),
      waitMaxV: poolWait?.maxMs ?? -1,
      saturated: saturatedShare === null ? '—' : formatPercent(saturatedShare, 0),
      saturatedV: saturatedShare ?? -1,
      saturatedBad: (saturatedShare ?? 0) > 0,
    })),
    poolSaturated: summary.poolSaturatedShare === null ? null : formatPercent(summary.poolSaturatedShare, 0),
    poolSaturatedBad: (summary.poolSaturatedShare ?? 0) > 0,
    poolWaitMax: formatMs(summary.poolWaitMaxMs),
    saturatedBar: formatMs(POOL_SATURATED_P95_MS),
    measuredSeconds: summary.measuredSeconds,
    chartNote:
      summary.transactions.length > TX_CHART_SERIES
        ? `the ${TX_CHART_SERIES} busiest of ${summary.transactions.length}`
        : null,
  }
}
