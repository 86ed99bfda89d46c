import type { EndpointResult, RunResult } from '../src/shared/result.js'
import { POOL_TYPE, POOL_WAIT_SUFFIX, SQL_TYPE, TX_TYPE } from '../src/shared/db-row-types.js'

/**
 * A pool wait p95 at or above this means users queued behind busy connections in that second: a free pooled
 * connection is handed over in well under a millisecond, so 10 ms of wait at the 95th percentile is a pool (or a
 * database behind it) that could not keep up, not noise.
 */
export const POOL_SATURATED_P95_MS = 10

/** Transaction types the report charts; the rest are in the table (a chart of 30 lines says nothing). */
export const TX_CHART_SERIES = 8

export interface DbTransaction {
  row: EndpointResult
  /** The wait for a connection before it (its POOL row), when it took one from the pool. */
  poolWait: EndpointResult | null
  /** Measured seconds in which that wait's p95 reached POOL_SATURATED_P95_MS, over all measured seconds. */
  saturatedShare: number | null
}

/** What the report's database section, its chart and the job summary show of a database run. */
export interface DbSummary {
  /** 'TX' when the run used db.tx, else 'SQL' (each named or derived query is a type), as the progress line. */
  type: typeof TX_TYPE | typeof SQL_TYPE
  /** Busiest first. */
  transactions: DbTransaction[]
  /** Every POOL row together: measured seconds in which some pool wait's p95 reached the bar. */
  poolSaturatedShare: number | null
  /** The longest pool wait of the run (ms). */
  poolWaitMaxMs: number | null
  /** Measured seconds the saturation shares are out of. */
  measuredSeconds: number
}

/**
 * The database view of a result, from its endpoint rows and per-second series: null for a run that recorded no
 * database transaction or query, so an HTTP report is unchanged.
 */
export function dbSummary(result: RunResult): DbSummary | null {
  const tx = result.endpoints.filter((e) => e.method === TX_TYPE)
  const rows = tx.length > 0 ? tx : result.endpoints.filter((e) => e.method === SQL_TYPE)
  if (rows.length === 0) return null
  const pools = new Map(
    result.endpoints.filter((e) => e.method === POOL_TYPE).map((e) => [e.name, e] as const),
  )
  const measured = result.timeSeries.filter((p) => !p.warmup)
  const share = (saturated: (p: (typeof measured)[number]) => boolean): number | null =>
    measured.length === 0 ? null : measured.filter(saturated).length / measured.length
  const saturatedIn = (key: string) => (p: (typeof measured)[number]) =>
    (p.endpoints?.[key]?.p95Ms ?? 0) >= POOL_SATURATED_P95_MS
  const poolKeys = [...pools.keys()].map((name) => `${POOL_TYPE} ${name}`)
  const transactions = [...rows]
    .sort((a, b) => b.requests - a.requests || (a.name < b.name ? -1 : 1))
    .map((row): DbTransaction => {
      const poolWait = pools.get(row.name + POOL_WAIT_SUFFIX) ?? null
      return {
        row,
        poolWait,
        saturatedShare: poolWait === null ? null : share(saturatedIn(`${POOL_TYPE} ${poolWait.name}`)),
      }
    })
  const maxes = [...pools.values()].map((p) => p.maxMs).filter((v) => v !== null)
  return {
    type: tx.length > 0 ? TX_TYPE : SQL_TYPE,
    transactions,
    poolSaturatedShare:
      poolKeys.length === 0 ? null : share((p) => poolKeys.some((key) => saturatedIn(key)(p))),
    poolWaitMaxMs: maxes.length === 0 ? null : Math.max(...maxes),
    measuredSeconds: measured.length,
  }
}

/** Columns for the chart of tps per transaction type over time (x as in ChartData.t): the busiest types only. */
export interface TxChartData {
  names: string[]
  tps: number[][]
  /** Types left out of the chart. */
  more: number
}

export function txChartData(result: RunResult, summary = dbSummary(result)): TxChartData | null {
  if (summary === null) return null
  const shown = summary.transactions.slice(0, TX_CHART_SERIES).map((t) => t.row)
  return {
    names: shown.map((row) => row.name),
    tps: shown.map((row) =>
      result.timeSeries.map((p) => p.endpoints?.[`${row.method} ${row.name}`]?.rps ?? 0),
    ),
    more: summary.transactions.length - shown.length,
  }
}
