import { describe, expect, it } from 'vitest'
import { compareRuns, chooseBaseline } from '../../report/compare.js'
import { runCsvFiles } from '../../src/shared/run-csv.js'
import { renderJobSummary } from '../../report/job-summary.js'
import { parseRunResult } from '../../report/load.js'
import { renderReport } from '../../report/render.js'
import { safeJson } from '../../report/safe-json.js'
import { MALICIOUS_ERROR, MALICIOUS_NAME, makeRunResult } from '../helpers/run-result-fixture.js'

describe('renderReport', () => {
  it('is one self-contained page: inline CSS, chart library and data, nothing fetched, strict CSP', () => {
    const html = renderReport(makeRunResult())
    expect(html).toContain(
      `content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"`,
    )
    expect(html).toContain('uPlot')
    expect(html).not.toMatch(/<script[^>]+src=/i)
    expect(html).not.toMatch(/<link[^>]+href=/i)
    expect(html).not.toMatch(/url\(\s*['"]?https?:/i)
    expect(html).toContain('id="horde-data"')
    expect(html.length).toBeLessThan(400_000)
  })

  it('keeps markup from the run as text, in the HTML and inside the inline JSON', () => {
    const html = renderReport(makeRunResult({ malicious: true }))
    // The only script elements are ours: the JSON block, the chart library, table sorting, the shared charts, the client.
    expect(html.match(/<script\b/gi)).toHaveLength(5)
    expect(html).not.toContain('<script>window.__pwned')
    expect(html).not.toContain('<img src=x')
    expect(html).not.toContain('<svg onload')
    expect(html).toContain('&lt;img src&#x3D;x onerror&#x3D;&quot;window.__pwned&#x3D;2&quot;&gt;')
    const json = /<script type="application\/json" id="horde-data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? ''
    expect(json).not.toMatch(/[<>\u2028\u2029]/)
    const data = JSON.parse(json) as { events: Array<{ msg: string }> }
    expect(data.events.some((e) => e.msg.includes('<svg onload="window.__pwned=4"> lost </script>'))).toBe(
      true,
    )
  })

  it('never prints credentials from the host or secret-looking labels', () => {
    const html = renderReport(makeRunResult({ malicious: true }))
    expect(html).not.toContain('hunter2')
    expect(html).not.toContain('tok-secret-123')
    expect(html).toContain('[redacted]')
  })

  it('links Datadog logs and traces for the run only when a site is configured', () => {
    const result = makeRunResult({ runId: 'run-dd' })
    expect(renderReport(result)).not.toContain('app.datadoghq')
    // Attribute values are entity-encoded (= as &#x3D;); compare what the browser will see.
    const html = renderReport(result, { datadog: { site: 'datadoghq.eu', service: 'shop', env: 'staging' } })
      .replaceAll('&#x3D;', '=')
      .replaceAll('&amp;', '&')
    expect(html).toContain(
      'https://app.datadoghq.eu/logs?query=%40runId%3Arun-dd%20service%3Ashop%20env%3Astaging',
    )
    expect(html).toContain('https://app.datadoghq.eu/apm/traces?query=%40horde.run_id%3Arun-dd')
    expect(html).toContain('resource_name%3A%22GET%20%2Fapi%2Fitems%22')
  })

  it('shows deltas against a baseline and marks regressions', () => {
    const baseline = makeRunResult({ seed: 1, runId: 'base' })
    const slower = makeRunResult({
      seed: 1,
      runId: 'slow',
      latencyFactor: 1.5,
      startedAtMs: baseline.startedAtMs + 86_400_000,
    })
    const html = renderReport(slower, { baseline })
    expect(html).toContain('Compared with')
    expect(html).toContain('<code>base</code>')
    expect(html).toContain('class="delta worse"')
    expect(html).toContain('class="regressed"')
    expect(renderReport(baseline, { baseline })).not.toContain('class="delta worse"')
  })

  it('shows the open model: corrected p99 beside the actual one, achieved vs target rate, iterations', () => {
    const closed = renderReport(makeRunResult())
    expect(closed).not.toContain('p99 corrected')
    const result = makeRunResult({ targetRps: 300 })
    const om = result.openModel
    if (om === null || om === undefined) throw new Error('fixture lacks openModel')
    om.correctedLatency.p99Ms = 1234.5
    om.achievedRps = 297
    om.startedIterations = 17_820
    om.droppedIterations = 180
    const html = renderReport(result)
    expect(html).toContain('p99 corrected')
    expect(html).toMatch(/p99 corrected[^]{0,300}?1\.23 s/)
    expect(html).toContain('297/s of 300/s (99.00 %)')
    expect(html).toContain('17,820 started, 180 dropped')
    const summary = renderJobSummary(result)
    expect(summary).toContain('Open model: 297 of 300 iterations/s achieved, 180 dropped')
    expect(renderJobSummary(makeRunResult())).not.toContain('Open model:')
  })

  it('draws the open-model chart only for target-RPS runs', () => {
    expect(renderReport(makeRunResult())).not.toContain('id="chart-open"')
    const open = renderReport(makeRunResult({ targetRps: 300 }))
    expect(open).toContain('id="chart-open"')
    expect(open).toContain('Dropped')
  })
})

describe('safeJson', () => {
  it('round-trips any text while making </script>, <!-- and line separators inert', () => {
    const value = { s: '</script><script>alert(1)</script><!-- \u2028\u2029 & é' }
    const text = safeJson(value)
    expect(text).not.toMatch(/[<>&\u2028\u2029]/)
    expect(JSON.parse(text)).toEqual(value)
  })
})

describe('compareRuns and chooseBaseline', () => {
  it('flags only changes that are both relatively and absolutely large', () => {
    const a = makeRunResult({ seed: 1 })
    const b = makeRunResult({ seed: 1, latencyFactor: 1.05 })
    const c = makeRunResult({ seed: 1, latencyFactor: 1.3 })
    expect(compareRuns(b, a, 'previous-pass').regressions).toEqual([])
    const worse = compareRuns(c, a, 'previous-pass')
    expect(worse.headline.p95.regression).toBe(true)
    expect(worse.headline.p95.ratio).toBeGreaterThan(0.2)
    expect(worse.regressions.some((r) => r.startsWith('p95 '))).toBe(true)
  })

  it('picks the newest earlier passing run of the same scenario, or the one asked for', () => {
    const runs = [
      { runId: 'r1', scenario: 's', verdict: 'pass', startedAtMs: 1 },
      { runId: 'r2', scenario: 's', verdict: 'pass', startedAtMs: 2 },
      { runId: 'r3', scenario: 's', verdict: 'fail', startedAtMs: 3 },
      { runId: 'x', scenario: 'other', verdict: 'pass', startedAtMs: 3 },
      { runId: 'r5', scenario: 's', verdict: 'pass', startedAtMs: 5 },
    ]
    expect(chooseBaseline({ runId: 'r4', scenario: 's', startedAtMs: 4 }, runs)?.run.runId).toBe('r2')
    expect(chooseBaseline({ runId: 'r4', scenario: 's', startedAtMs: 4 }, runs, 'r3')).toEqual({
      run: runs[2],
      chosenBy: 'explicit',
    })
    expect(chooseBaseline({ runId: 'r1', scenario: 's', startedAtMs: 1 }, runs)).toBeUndefined()
  })
})

describe('job summary', () => {
  it('renders verdict, thresholds and top endpoints with run text escaped', () => {
    const result = makeRunResult({ malicious: true, endpoints: 14 })
    const md = renderJobSummary(result, {
      baseline: makeRunResult({ seed: 9, runId: 'prev' }),
      reportUrl: 'https://storage.googleapis.com/b/r/index.html',
    })
    expect(md).toMatch(/^## (✅|❌) (PASS|FAIL) — checkout &lt;b&gt;bold&lt;\/b&gt;/)
    expect(md).toContain('### Thresholds')
    expect(md).toContain('### Top endpoints (10 of 14)')
    expect(md).toContain('Δ p95')
    expect(md).toContain('[Open the full report](https://storage.googleapis.com/b/r/index.html)')
    expect(md).not.toMatch(/<(script|img|svg)/)
    // A name with | must not add table columns.
    const piped = makeRunResult({ endpoints: 1 })
    piped.endpoints[0]!.name = '/a|b @team'
    const row = renderJobSummary(piped)
      .split('\n')
      .find((l) => l.includes('/a'))
    expect(row).toContain('/a\\|b &#64;team')
    expect(MALICIOUS_NAME).toContain('</script>')
  })
})

describe('CSV and result validation', () => {
  it('writes Locust-style CSVs and defuses spreadsheet formulas', () => {
    const result = makeRunResult({ endpoints: 2 })
    result.errors = [
      {
        method: 'GET',
        name: '=HYPERLINK("x")',
        error: MALICIOUS_ERROR,
        occurrences: 3,
        firstSeenMs: null,
        lastSeenMs: null,
      },
    ]
    const files = Object.fromEntries(runCsvFiles(result, undefined, false).map((f) => [f.name, f.body]))
    expect(Object.keys(files)).toEqual(['stats.csv', 'throughput.csv', 'failures.csv'])
    expect(files['stats.csv']?.split('\n')[0]).toMatch(
      /^Type,Name,Request Count,Failure Count,Median Response Time/,
    )
    expect(files['failures.csv']).toContain(`GET,"'=HYPERLINK(""x"")"`)
    // The master's columns (one writer): percentiles result.json does not keep are N/A, as Locust writes them.
    expect(files['stats.csv']?.split('\n')[0]).toMatch(
      /,50%,66%,75%,80%,90%,95%,98%,99%,99\.9%,99\.99%,100%$/,
    )
    expect(files['stats.csv']?.split('\n')[1]).toMatch(
      /,N\/A,N\/A,N\/A,[\d.]+,[\d.]+,N\/A,[\d.]+,[\d.]+,N\/A,[\d.]+$/,
    )
    expect(files['throughput.csv']?.split('\n')).toHaveLength(result.timeSeries.length + 2)
  })

  it('rejects a file that is not a Horde result with a message naming the field and the fix', () => {
    expect(() => parseRunResult('{"schemaVersion":1}', 'x/result.json')).toThrow(
      /x\/result.json is not a Horde result: runId: .*horde run/,
    )
    expect(() => parseRunResult('nope', 'y.json')).toThrow(
      expect.objectContaining({ code: 'HORDE_ERR_REPORT_RESULT_JSON' }),
    )
    const future = { ...makeRunResult(), schemaVersion: 2 }
    expect(() => parseRunResult(JSON.stringify(future), 'z.json')).toThrow(/schemaVersion must be 1/)
    expect(parseRunResult(JSON.stringify(makeRunResult()), 'ok.json').runId).toBe('run-1')
  })
})

describe('budget', () => {
  // Render time is a benchmark (bench/report-render.ts), not a test: on a shared machine wall-clock time says
  // more about the neighbours than about the code. The page size is deterministic.
  it('a 1-hour, 200-endpoint result renders every endpoint into under 3 MB (time: bench/report-render.ts)', () => {
    const result = makeRunResult({
      durationS: 3600,
      endpoints: 200,
      users: 2000,
      workers: 8,
      perEndpointSeries: true,
    })
    const baseline = makeRunResult({
      seed: 9,
      durationS: 3600,
      endpoints: 200,
      perEndpointSeries: false,
      runId: 'b',
    })
    const html = renderReport(result, { baseline })
    expect(Buffer.byteLength(html)).toBeLessThan(3 * 1024 * 1024)
    expect(html.match(/<tr( class="regressed")?>\s*<td><span class="method">/g)?.length).toBe(200)
  })
})
