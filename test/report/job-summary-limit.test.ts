import { describe, expect, it } from 'vitest'
import { JOB_SUMMARY_MAX_BYTES, boundedJobSummary } from '../../report/job-summary-limit.js'
import { renderJobSummary } from '../../report/job-summary.js'
import { makeRunResult } from '../helpers/run-result-fixture.js'

// GitHub drops a step summary over 1 MiB altogether: however big the run, the summary must fit, keep the
// verdict and the failed thresholds, and point to the full report.

const REPORT = 'https://storage.googleapis.com/acme-load/shop/gh-1-1/index.html'
const bytes = (text: string): number => Buffer.byteLength(text)

describe('boundedJobSummary', () => {
  it('is the plain job summary when it fits', () => {
    const result = makeRunResult({ endpoints: 30 })
    expect(boundedJobSummary(result, { reportUrl: REPORT })).toBe(
      renderJobSummary(result, { reportUrl: REPORT }),
    )
  })

  it('fits 1 MiB with 5,000 endpoints and thresholds, long names and many reasons; failed thresholds and the link stay', () => {
    const base = makeRunResult({ endpoints: 5000, verdict: 'fail' })
    const long = (i: number): string => `/api/v1/search?q=${'x'.repeat(2000)}&page=${i}`
    const result = {
      ...base,
      endpoints: base.endpoints.map((e, i) => ({ ...e, name: long(i) })),
      verdictReasons: Array.from({ length: 3000 }, (_, i) => `threshold ${i} failed: ${'why '.repeat(100)}`),
      thresholds: Array.from({ length: 5000 }, (_, i) => ({
        metric: `http_req_duration{name:${long(i)}}`,
        expression: i === 4321 ? 'p(99)<123' : 'p(95)<400',
        observed: 512,
        ok: i !== 4321,
        abortOnFail: false,
      })),
    }
    expect(bytes(renderJobSummary(result, { reportUrl: REPORT }))).toBeGreaterThan(JOB_SUMMARY_MAX_BYTES)
    const text = boundedJobSummary(result, { reportUrl: REPORT })
    expect(bytes(text)).toBeLessThanOrEqual(JOB_SUMMARY_MAX_BYTES)
    expect(text).toContain('FAIL')
    expect(text).toContain('p(99)&lt;123') // the one failed threshold is listed first
    expect(text).toContain(`[the full report](${REPORT})`)
    expect(text).toContain('5000 endpoints, 5000 thresholds, 3000 reasons')
  })

  it('cuts as a last resort and still ends with the note, under a small limit', () => {
    const result = makeRunResult({ endpoints: 50 })
    const text = boundedJobSummary(result, { reportUrl: REPORT }, 700)
    expect(bytes(text)).toBeLessThanOrEqual(700)
    expect(text.trimEnd().endsWith(`Everything is in [the full report](${REPORT}).`)).toBe(true)
  })
})
