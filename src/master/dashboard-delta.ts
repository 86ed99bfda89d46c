import type { DashboardUpdate } from '../shared/dashboard-update.js'

/**
 * What a viewer that already shows one update needs to show a later one: the chart's points from the first
 * one that differs (older seconds never change once settled, so this is usually the newest second), the chart's
 * other fields and the sections only when they changed, and the status line. Pure: the master computes it once
 * per (update, base) and sends the same bytes to every viewer that is at that base.
 *
 * The browser (report/templates/dashboard-client.js) merges it: columns cut at `chart.from`, then extended.
 */

/** The chart's per-second columns, all as long as `t` (or null when the run has no such series). */
export const CHART_COLUMNS = [
  't',
  'rps',
  'fps',
  'p50',
  'p95',
  'p99',
  'users',
  'workers',
  'target',
  'dropped',
] as const

export interface DashboardDelta {
  /** Columns from index `from` on, and the chart's other fields that changed. */
  chart: { from: number; columns: Record<string, unknown[] | null>; fields: Record<string, unknown> }
  status: DashboardUpdate['status']
  /** Only the sections whose HTML changed. */
  sections: Record<string, string>
}

/** The delta from `base` to `next`; null when the chart's shape changed (a column appeared): send it whole. */
export function dashboardDelta(base: DashboardUpdate, next: DashboardUpdate): DashboardDelta | null {
  let from = Number.POSITIVE_INFINITY
  for (const name of CHART_COLUMNS) {
    const a = base.chart[name] as unknown[] | null | undefined
    const b = next.chart[name] as unknown[] | null | undefined
    if ((a ?? null) === null && (b ?? null) === null) continue
    if (!Array.isArray(a) || !Array.isArray(b)) return null
    from = Math.min(from, commonPrefix(a, b))
  }
  if (!Number.isFinite(from)) from = 0
  const columns: Record<string, unknown[] | null> = {}
  for (const name of CHART_COLUMNS) {
    const b = next.chart[name] as unknown[] | null | undefined
    if (b !== undefined) columns[name] = b === null ? null : b.slice(from)
  }
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(next.chart)) {
    if ((CHART_COLUMNS as readonly string[]).includes(key)) continue
    // Small fields (warm-up spans, markers, the distribution): compared as JSON, sent when different.
    if (JSON.stringify(value) !== JSON.stringify(base.chart[key])) fields[key] = value
  }
  const sections: Record<string, string> = {}
  for (const [name, html] of Object.entries(next.sections)) {
    if (base.sections[name] !== html) sections[name] = html
  }
  return { chart: { from, columns, fields }, status: next.status, sections }
}

function commonPrefix(a: readonly unknown[], b: readonly unknown[]): number {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a[i] === b[i]) i++
  return i
}
