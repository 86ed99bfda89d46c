/**
 * Report rendering budget: a result from a 1-hour run with 200 endpoints must render in under 2 s and give
 * under 3 MB of HTML. The fixture carries the optional per-endpoint time series too (the worst case: a
 * ~40 MB result.json). Run: npx tsx bench/report-render.ts
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderReport, writeRunReport } from '../report/index.js'
import { makeRunResult } from '../test/helpers/run-result-fixture.js'

const ms = (t: number): string => `${t.toFixed(0)} ms`
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`

let t = performance.now()
const result = makeRunResult({
  durationS: 3600,
  warmupS: 120,
  endpoints: 200,
  users: 2000,
  workers: 8,
  perEndpointSeries: true,
})
const baseline = makeRunResult({
  seed: 7,
  durationS: 3600,
  warmupS: 120,
  endpoints: 200,
  users: 2000,
  workers: 8,
  perEndpointSeries: true,
  runId: 'baseline',
  startedAtMs: result.startedAtMs - 86_400_000,
})
console.log(
  `fixture: ${result.timeSeries.length} points × ${result.endpoints.length} endpoints, built in ${ms(performance.now() - t)}`,
)

t = performance.now()
const cold = renderReport(result, { baseline })
const coldMs = performance.now() - t
const warm: number[] = []
for (let i = 0; i < 5; i++) {
  t = performance.now()
  renderReport(result, { baseline })
  warm.push(performance.now() - t)
}
warm.sort((a, b) => a - b)
const html = Buffer.byteLength(cold)
console.log(
  `renderReport: first ${ms(coldMs)} (compiles templates, reads assets), then median ${ms(warm[2] ?? 0)}; HTML ${mb(html)}`,
)

const dir = await mkdtemp(join(tmpdir(), 'horde-bench-render-'))
try {
  const path = join(dir, 'checkout', 'run-1', 'result.json')
  const { mkdir } = await import('node:fs/promises')
  await mkdir(join(dir, 'checkout', 'run-1'), { recursive: true })
  await writeFile(path, JSON.stringify(result))
  const size = (await stat(path)).size
  t = performance.now()
  const { htmlPath } = await writeRunReport(path, { datadog: null })
  const e2e = performance.now() - t
  console.log(
    `writeRunReport (read + validate ${mb(size)} result.json, render, CSVs, summary, index): ${ms(e2e)}; index.html ${mb((await readFile(htmlPath)).length)}`,
  )
  // The same run without the optional per-endpoint series (what most result.json files look like).
  const lean = { ...result, timeSeries: result.timeSeries.map(({ endpoints: _, ...p }) => p) }
  const leanPath = join(dir, 'checkout', 'run-2', 'result.json')
  await mkdir(join(dir, 'checkout', 'run-2'), { recursive: true })
  await writeFile(
    leanPath,
    JSON.stringify({ ...lean, runId: 'run-2', startedAtMs: result.startedAtMs + 7_200_000 }),
  )
  t = performance.now()
  await writeRunReport(leanPath, { datadog: null })
  const leanMs = performance.now() - t
  console.log(
    `writeRunReport without per-endpoint series (${mb((await stat(leanPath)).size)} result.json, compared with run-1): ${ms(leanMs)}`,
  )
  const ok = coldMs < 2000 && e2e < 2000 && leanMs < 2000 && html < 3 * 1024 * 1024
  console.log(ok ? 'within budget (< 2 s, < 3 MB)' : 'OVER BUDGET')
  process.exitCode = ok ? 0 : 1
} finally {
  await rm(dir, { recursive: true, force: true })
}
