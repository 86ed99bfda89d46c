import { describe, expect, it } from 'vitest'
import { renderReport } from '../../report/render.js'
import { renderJobSummary } from '../../report/job-summary.js'
import { dbSummary, txChartData } from '../../report/db-summary.js'
import { makeRunResult } from '../helpers/run-result-fixture.js'
import { makeDbRunResult } from '../helpers/db-run-result.js'

describe('the report of a database run', () => {
  it('summarises each transaction type with the pool wait before it and the share of seconds the pool was saturated', () => {
    const result = makeDbRunResult({ durationS: 60, warmupS: 10, saturatedFrom: 40 })
    const summary = dbSummary(result)
    expect(summary?.type).toBe('TX')
    // Transactions only (queries inside them are not types of their own), busiest first.
    expect(summary?.transactions.map((t) => t.row.name)).toEqual(
      [...result.endpoints]
        .filter((e) => e.method === 'TX')
        .sort((a, b) => b.requests - a.requests)
        .map((e) => e.name),
    )
    const transfer = summary?.transactions.find((t) => t.row.name === 'transfer')
    expect(transfer?.poolWait?.name).toBe('transfer pool wait')
    // 50 measured seconds, the last 10 saturated.
    expect(summary?.measuredSeconds).toBe(50)
    expect(transfer?.saturatedShare).toBeCloseTo(10 / 50)
    expect(summary?.transactions.find((t) => t.row.name === 'audit')?.saturatedShare).toBe(0)
    expect(summary?.poolSaturatedShare).toBeCloseTo(10 / 50)
    const chart = txChartData(result)
    expect(chart?.names.sort()).toEqual(['audit', 'transfer'])
    expect(chart?.tps[0]).toHaveLength(result.timeSeries.length)
    const i = chart?.names.indexOf('transfer') ?? -1
    expect(chart?.tps[i]?.[20]).toBe(result.timeSeries[20]?.endpoints?.['TX transfer']?.rps)
  })

  it('renders a database section with its table and tps chart; an HTTP report has none', () => {
    const html = renderReport(makeDbRunResult({ saturatedFrom: 5 }))
    expect(html).toContain('id="database"')
    expect(html).toContain('id="chart-tx"')
    const section = html.slice(
      html.indexOf('id="database"'),
      html.indexOf('</section>', html.indexOf('id="database"')),
    )
    expect(section).toMatch(/<h2>Transactions <span class="count">2<\/span>/)
    expect(section).toContain('transfer')
    expect(section).toMatch(/Pool wait p95/)
    expect(section).toMatch(/had a saturated pool/)
    const http = renderReport(makeRunResult())
    expect(http).not.toContain('id="database"')
    expect(http).not.toContain('id="chart-tx"')
  })

  it('falls back to queries when the run has no transactions', () => {
    const result = makeDbRunResult()
    result.endpoints = result.endpoints.filter((e) => e.method !== 'TX')
    const summary = dbSummary(result)
    expect(summary?.type).toBe('SQL')
    expect(summary?.transactions.map((t) => t.row.name)).toEqual(['UPDATE accounts SET balance'])
    expect(renderReport(result)).toMatch(/<h2>Queries <span class="count">1<\/span>/)
  })

  it('lists transactions and pool wait in the job summary, run text escaped', () => {
    const summary = renderJobSummary(makeDbRunResult({ saturatedFrom: 0, txName: 'a|b <i>@team' }))
    const lines = summary.split('\n')
    const start = lines.indexOf('### Transactions')
    expect(start).toBeGreaterThan(0)
    expect(lines[start + 2]).toBe(
      '| Name | tps | Count | Failures | p50 | p95 | p99 | Pool wait p95 | Pool wait max |',
    )
    const rows = lines.slice(start + 4, lines.indexOf('', start + 4))
    expect(rows).toHaveLength(2)
    expect(rows.join('\n')).toContain('a\\|b &lt;i&gt;&#64;team')
    expect(rows.every((r) => r.split(/(?<!\\)\|/).length === 11)).toBe(true)
    expect(summary).toMatch(
      /Connection pool saturated \(wait p95 ≥ 10\.0 ms\) in 100 % of \d+ measured seconds/,
    )
    expect(renderJobSummary(makeRunResult())).not.toContain('### Transactions')
  })
})
