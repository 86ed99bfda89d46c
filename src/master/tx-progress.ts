import { SQL_TYPE, TX_TYPE } from '../shared/db-row-types.js'
import type { SecondBin } from './second-bin.js'
import { StatsRow } from './stats-row.js'

/** Transaction types a progress line names; the others are counted as "+K more" so a line stays one line. */
export const TX_PROGRESS_TOP = 5

export interface TxTypeProgress {
  name: string
  tps: number
  failuresPerSec: number
  avgMs: number | null
  p95Ms: number | null
}

/** JdbcRunner's per-second progress: throughput and latency per transaction type over the progress window. */
export interface TxProgress {
  /** 'TX' when the scenario runs db.tx transactions, else 'SQL' (each named or derived query is a type). */
  type: typeof TX_TYPE | typeof SQL_TYPE
  /** All transactions of that type per second, the ones not named included. */
  tps: number
  /** The busiest types, most first (at most TX_PROGRESS_TOP). */
  types: TxTypeProgress[]
  /** Types left out of `types`. */
  more: number
}

/**
 * Per transaction type over the seconds [fromSec, fromSec + windowSec): the same lagged window as the progress
 * line's merged p95, whose bins still hold full rows (they are sealed 30 s later). Undefined when the window has
 * no database rows, so an HTTP run's progress is unchanged. Runs once a second on the master: it walks the
 * window's rows and merges only the top types' histograms.
 */
export function txProgress(
  seconds: ReadonlyMap<number, SecondBin>,
  fromSec: number,
  windowSec: number,
  top = TX_PROGRESS_TOP,
): TxProgress | undefined {
  const tx = new Map<string, StatsRow[]>()
  const sql = new Map<string, StatsRow[]>()
  for (let second = fromSec; second < fromSec + windowSec; second++) {
    const bin = seconds.get(second)
    if (bin === undefined) continue
    for (const row of bin.endpoints.values()) {
      const byName = row.method === TX_TYPE ? tx : row.method === SQL_TYPE ? sql : null
      if (byName === null) continue
      const rows = byName.get(row.name)
      if (rows === undefined) byName.set(row.name, [row])
      else rows.push(row)
    }
  }
  const type = tx.size > 0 ? TX_TYPE : SQL_TYPE
  const byName = tx.size > 0 ? tx : sql
  if (byName.size === 0) return undefined
  const counted = [...byName].map(([name, rows]) => ({
    name,
    rows,
    requests: rows.reduce((sum, row) => sum + row.requests, 0),
  }))
  counted.sort((a, b) => b.requests - a.requests || (a.name < b.name ? -1 : 1))
  const types = counted.slice(0, top).map(({ name, rows, requests }): TxTypeProgress => {
    const merged = new StatsRow(type, name, true)
    for (const row of rows) merged.addRow(row)
    return {
      name,
      tps: requests / windowSec,
      failuresPerSec: merged.failures / windowSec,
      avgMs: merged.avgResponseTimeMs,
      p95Ms: merged.percentileMs(0.95),
    }
  })
  return {
    type,
    tps: counted.reduce((sum, c) => sum + c.requests, 0) / windowSec,
    types,
    more: counted.length - types.length,
  }
}

const ms = (value: number | null): string => (value === null ? '-' : value.toFixed(1))

/**
 * The progress line's second line for a database run, after JdbcRunner's `[Progress] N sec, T tps`:
 * `tx 1234.0 tps: transfer 600.0 tps avg 3.1 p95 8.0 ms, balance 634.0 tps avg 1.2 p95 3.0 ms, +2 more`.
 */
export function txProgressLine(elapsed: string, tx: TxProgress): string {
  const parts = tx.types.map(
    (t) =>
      `${t.name} ${t.tps.toFixed(1)} tps` +
      (t.failuresPerSec > 0 ? ` (${t.failuresPerSec.toFixed(1)} failed)` : '') +
      ` avg ${ms(t.avgMs)} p95 ${ms(t.p95Ms)} ms`,
  )
  if (tx.more > 0) parts.push(`+${tx.more} more`)
  const label = tx.type === TX_TYPE ? 'tx' : 'sql'
  return `[${elapsed}] ${label} ${tx.tps.toFixed(1)} tps: ${parts.join(', ')}`
}
