import type { RunResult } from '../../src/shared/result.js'
import { makeRunResult, type FixtureOptions } from './run-result-fixture.js'

/** The rows a database run records, in the fixture's endpoint order: two transactions, their pool waits, a query. */
const DB_ROWS: Array<[method: string, name: string]> = [
  ['TX', 'transfer'],
  ['POOL', 'transfer pool wait'],
  ['TX', 'audit'],
  ['POOL', 'audit pool wait'],
  ['SQL', 'UPDATE accounts SET balance'],
]

/**
 * A report fixture shaped like a database run (what the db clients record: TX, SQL and POOL rows, per-second
 * figures for each), so report tests need no database. `saturatedFrom`: from this measured second on, the
 * transfer's pool wait p95 is 40 ms (a saturated pool); every other pool wait p95 is 0.2 ms. `txName` replaces 'audit' (e.g. markup).
 */
export function makeDbRunResult(
  options: FixtureOptions & { saturatedFrom?: number; txName?: string } = {},
): RunResult {
  const result = makeRunResult({ ...options, endpoints: DB_ROWS.length, perEndpointSeries: true })
  const rename = new Map<string, string>()
  result.endpoints.forEach((e, i) => {
    const [method, rawName] = DB_ROWS[i] ?? ['SQL', e.name]
    const name = rawName.replace('audit', options.txName ?? 'audit')
    rename.set(`${e.method} ${e.name}`, `${method} ${name}`)
    e.method = method
    e.name = name
  })
  for (const e of result.errors) {
    const key = rename.get(`${e.method} ${e.name}`)
    if (key === undefined) continue
    e.method = key.slice(0, key.indexOf(' '))
    e.name = key.slice(key.indexOf(' ') + 1)
  }
  let measured = 0
  for (const point of result.timeSeries) {
    const renamed: NonNullable<typeof point.endpoints> = {}
    for (const [key, value] of Object.entries(point.endpoints ?? {})) renamed[rename.get(key) ?? key] = value
    const saturated = !point.warmup && measured >= (options.saturatedFrom ?? Infinity)
    for (const [key, value] of Object.entries(renamed)) {
      if (key.startsWith('POOL ')) value.p95Ms = saturated && key === 'POOL transfer pool wait' ? 40 : 0.2
    }
    if (!point.warmup) measured++
    point.endpoints = renamed
  }
  result.thresholds = []
  return result
}
