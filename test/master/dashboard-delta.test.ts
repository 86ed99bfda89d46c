import { describe, expect, it } from 'vitest'
import { dashboardDelta } from '../../src/master/dashboard-delta.js'
import type { DashboardUpdate } from '../../src/shared/dashboard-update.js'

/** An update with `n` chart seconds; `rps` per second from `rpsAt`. */
function update(n: number, rpsAt: (i: number) => number, sections: Record<string, string>): DashboardUpdate {
  const t = Array.from({ length: n }, (_, i) => i)
  return {
    chart: {
      startMs: 1_000,
      t,
      rps: t.map(rpsAt),
      p95: t.map((i) => (i === 0 ? null : 10 + i)),
      target: null,
      events: [{ t: 1, kind: 'spawn-complete' }],
      hist: { x: [1, 2], share: [50, 50], cdf: [50, 100] },
    },
    status: { phase: 'running', elapsed: `${n}s` },
    sections,
  }
}

/** What the page does with a delta (report/templates/dashboard-client.js mergeChart), for the check below. */
function merge(
  base: DashboardUpdate,
  delta: NonNullable<ReturnType<typeof dashboardDelta>>,
): DashboardUpdate {
  const chart: Record<string, unknown> = { ...base.chart }
  for (const [name, tail] of Object.entries(delta.chart.columns)) {
    chart[name] =
      tail === null ? null : ((base.chart[name] as unknown[]) ?? []).slice(0, delta.chart.from).concat(tail)
  }
  Object.assign(chart, delta.chart.fields)
  return { chart, status: delta.status, sections: { ...base.sections, ...delta.sections } }
}

describe('dashboardDelta: what a viewer at one version needs to show a later one', () => {
  const sections = { kpis: '<b>1</b>', endpoints: '<table>a</table>', events: '<ul></ul>' }

  it('sends the new seconds only, and only the sections that changed', () => {
    const base = update(100, (i) => i * 2, sections)
    const next = update(103, (i) => i * 2, { ...sections, kpis: '<b>2</b>' })
    const delta = dashboardDelta(base, next)!
    expect(delta.chart.from).toBe(100)
    expect(delta.chart.columns.t).toEqual([100, 101, 102])
    expect(delta.chart.columns.target).toBeNull()
    expect(delta.chart.fields).toEqual({})
    expect(delta.sections).toEqual({ kpis: '<b>2</b>' })
    expect(merge(base, delta)).toEqual(next)
  })

  it('starts at the first revised second when a late report changed recent ones', () => {
    const base = update(50, (i) => i, sections)
    // Seconds 45.. got a late worker's requests.
    const next = update(52, (i) => (i >= 45 ? i + 7 : i), sections)
    const delta = dashboardDelta(base, next)!
    expect(delta.chart.from).toBe(45)
    expect(delta.sections).toEqual({})
    expect(merge(base, delta)).toEqual(next)
  })

  it('sends changed small fields (markers, distribution) whole', () => {
    const base = update(10, (i) => i, sections)
    const next = update(11, (i) => i, sections)
    ;(next.chart as Record<string, unknown>).events = [
      { t: 1, kind: 'spawn-complete' },
      { t: 10, kind: 'paused' },
    ]
    const delta = dashboardDelta(base, next)!
    expect(Object.keys(delta.chart.fields)).toEqual(['events'])
    expect(merge(base, delta)).toEqual(next)
  })

  it('gives up (null: send the whole state) when a column appears or disappears', () => {
    const base = update(10, (i) => i, sections)
    const next = update(11, (i) => i, sections)
    ;(next.chart as Record<string, unknown>).target = next.chart.t
    expect(dashboardDelta(base, next)).toBeNull()
    expect(dashboardDelta(next, base)).toBeNull()
  })
})
