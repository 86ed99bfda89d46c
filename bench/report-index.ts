/**
 * History index budget: rebuilding the indexes of a local store with 500 runs must take under 5 s.
 * Measured twice: the normal path (each run has its small summary.json) and the recovery path (summaries
 * lost, every result.json re-read). Runs are 30-minute, 40-endpoint results spread over 5 scenarios.
 * Run: npx tsx bench/report-index.ts
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { localStore, rebuildIndexes, runDir, summarize } from '../report/index.js'
import { makeRunResult } from '../test/helpers/run-result-fixture.js'

const RUNS = 500
const SCENARIOS = ['checkout', 'search', 'login', 'catalog', 'payments']
const base = await mkdtemp(join(tmpdir(), 'horde-bench-index-'))
try {
  // 10 distinct results, written 50 times each with new ids/dates: building 500 fixtures would dominate.
  const templates = Array.from({ length: 10 }, (_, i) =>
    makeRunResult({
      seed: i + 1,
      durationS: 1800,
      endpoints: 40,
      perEndpointSeries: false,
      verdict: i % 4 === 3 ? 'fail' : 'pass',
    }),
  )
  let bytes = 0
  for (let i = 0; i < RUNS; i++) {
    const t = templates[i % templates.length]!
    const result = {
      ...t,
      runId: `run-${String(i).padStart(4, '0')}`,
      startedAtMs: t.startedAtMs + i * 3_600_000,
      config: { ...t.config, scenario: SCENARIOS[i % SCENARIOS.length]! },
    }
    const dir = join(base, ...runDir(result).split('/'))
    await mkdir(dir, { recursive: true })
    const text = JSON.stringify(result)
    bytes += text.length
    await writeFile(join(dir, 'result.json'), text)
    await writeFile(join(dir, 'summary.json'), JSON.stringify(summarize(result, runDir(result))))
  }
  console.log(
    `store: ${RUNS} runs in ${SCENARIOS.length} scenarios, ${(bytes / 1024 / 1024).toFixed(0)} MB of result.json`,
  )

  const store = localStore(base)
  let t = performance.now()
  const rebuilt = await rebuildIndexes(store)
  const withSummaries = performance.now() - t
  const index = await readFile(join(base, 'checkout', 'index.html'), 'utf8')
  console.log(
    `rebuild with summaries: ${withSummaries.toFixed(0)} ms (${rebuilt.runs} runs, ${rebuilt.written.length} pages; checkout/index.html ${((await stat(join(base, 'checkout', 'index.html'))).size / 1024).toFixed(0)} KiB, ${index.split('class="run-row"').length - 1} rows)`,
  )

  for (let i = 0; i < RUNS; i++) {
    const dir = join(base, SCENARIOS[i % SCENARIOS.length]!, `run-${String(i).padStart(4, '0')}`)
    await rm(join(dir, 'summary.json'))
  }
  await rm(join(base, 'index.html'))
  t = performance.now()
  await rebuildIndexes(store, { repair: true })
  const fromResults = performance.now() - t
  console.log(
    `rebuild after losing every summary and index (re-reads all result.json, writes summaries back): ${fromResults.toFixed(0)} ms`,
  )
  const ok = withSummaries < 5000 && fromResults < 5000
  console.log(ok ? 'within budget (< 5 s)' : 'OVER BUDGET')
  process.exitCode = ok ? 0 : 1
} finally {
  await rm(base, { recursive: true, force: true })
}
