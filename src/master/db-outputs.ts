import { POOL_TYPE, TX_TYPE } from '../shared/db-row-types.js'
import { csvLine, type Cell } from '../shared/run-csv.js'
import type { RunOutcome } from './coordinator.js'
import type { MasterRunResult } from './result-builder.js'
import { bucketHistogram } from './stats-row.js'

/** A transaction name as part of a file name: letters, digits, '-' and '_' only, so no path can be formed. */
export function fileSlug(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 60) || 'transaction'
}

/**
 * JdbcRunner's outputs per transaction type, next to the run-wide CSVs: `tx-histogram-<name>.csv`
 * (`Response Time (ms),Count` of the measured window) for each transaction, and one `tx-throughput.csv` with a
 * line per second and, per transaction type, its throughput (tps), failures/s and p95, plus the worst pool wait
 * p95 (a saturated pool shows there). Nothing for a run without transactions.
 */
export function dbOutputFiles(result: MasterRunResult, outcome: RunOutcome): Array<[string, string]> {
  const tx = result.endpoints.filter((e) => e.method === TX_TYPE).map((e) => e.name)
  if (tx.length === 0) return []
  const files: Array<[string, string]> = []
  const used = new Set<string>()
  for (const name of tx) {
    const row = outcome.stats.measured.rows.get(`${TX_TYPE} ${name}`)
    if (row === undefined) continue
    let file = `tx-histogram-${fileSlug(name)}.csv`
    for (let n = 2; used.has(file); n++) file = `tx-histogram-${fileSlug(name)}-${n}.csv`
    used.add(file)
    const lines = ['Response Time (ms),Count', ...bucketHistogram(row).map(([ms, count]) => `${ms},${count}`)]
    files.push([file, `${lines.join('\n')}\n`])
  }
  const poolKeys = result.endpoints.filter((e) => e.method === POOL_TYPE).map((e) => `${POOL_TYPE} ${e.name}`)
  const start = result.timeSeries[0]?.timeMs ?? 0
  const header = [
    'Timestamp',
    'Elapsed (s)',
    'Warm-up',
    ...tx.flatMap((name) => [`${name} tps`, `${name} failures/s`, `${name} p95 (ms)`]),
    'Pool wait p95 (ms)',
  ]
  const lines = [csvLine(header)]
  for (const point of result.timeSeries) {
    const cells: Cell[] = [
      new Date(point.timeMs).toISOString(),
      (point.timeMs - start) / 1000,
      point.warmup ? 'yes' : 'no',
    ]
    for (const name of tx) {
      const e = point.endpoints?.[`${TX_TYPE} ${name}`]
      cells.push(e?.rps ?? 0, e?.failuresPerSec ?? 0, e?.p95Ms ?? null)
    }
    const waits = poolKeys.map((key) => point.endpoints?.[key]?.p95Ms ?? null).filter((v) => v !== null)
    cells.push(waits.length === 0 ? null : Math.max(...waits))
    lines.push(csvLine(cells))
  }
  files.push(['tx-throughput.csv', `${lines.join('\n')}\n`])
  return files
}
