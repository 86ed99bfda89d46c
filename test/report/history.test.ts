import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writeRunReport } from '../../report/index.js'
import { indexCommand, reportCommand } from '../../src/cli/commands/report.js'
import type { RunResult } from '../../src/shared/result.js'
import { makeRunResult, type FixtureOptions } from '../helpers/run-result-fixture.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DAY = 86_400_000
const T0 = Date.UTC(2025, 4, 1, 8)

let tmp: string
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'horde-history-'))
})
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true })
})

/** A result.json where the master would leave it (an unrelated folder), for `horde report --store`. */
async function resultFile(
  name: string,
  options: FixtureOptions,
): Promise<{ path: string; result: RunResult }> {
  const result = makeRunResult({ durationS: 120, endpoints: 6, perEndpointSeries: true, ...options })
  const dir = join(tmp, 'incoming', name)
  await mkdir(dir, { recursive: true })
  const path = join(dir, 'result.json')
  await writeFile(path, JSON.stringify(result))
  return { path, result }
}

const rows = (html: string, cls: string): string[] =>
  [...html.matchAll(new RegExp(`<tr class=["']${cls}["']>([\\s\\S]*?)</tr>`, 'g'))].map((m) => m[1] ?? '')

describe('run history in a local folder', () => {
  it('three runs: the index lists three newest first and the third report compares with the second', async () => {
    const base = join(tmp, 'reports')
    const runs = [
      await resultFile('a', { seed: 1, runId: 'run-1', startedAtMs: T0 }),
      await resultFile('b', { seed: 2, runId: 'run-2', startedAtMs: T0 + DAY, latencyFactor: 1.05 }),
      await resultFile('c', { seed: 3, runId: 'run-3', startedAtMs: T0 + 2 * DAY, latencyFactor: 1.6 }),
    ]
    const summaryFile = join(tmp, 'step-summary.md')
    for (const r of runs)
      expect(await reportCommand([r.path, '--store', base, '--job-summary', summaryFile])).toBe(0)
    const summaries = (await readFile(summaryFile, 'utf8')).split(/^(?=## )/m)
    expect(summaries).toHaveLength(3)
    expect(summaries[2]).toMatch(/^## (✅ PASS|❌ FAIL) — checkout-flow/)
    expect(summaries[2]).toContain('Compared with the previous passing run `run-2`')
    expect(summaries[2]).toContain('🔺')

    const scenarioIndex = await readFile(join(base, 'checkout-flow', 'index.html'), 'utf8')
    const listed = rows(scenarioIndex, 'run-row')
    expect(listed).toHaveLength(3)
    expect(listed.map((r) => /href="(run-\d)\/index.html"/.exec(r)?.[1])).toEqual(['run-3', 'run-2', 'run-1'])
    expect(scenarioIndex).toContain('<svg class="spark')
    const rootIndex = await readFile(join(base, 'index.html'), 'utf8')
    expect(rows(rootIndex, 'scenario-row')).toHaveLength(1)
    expect(rootIndex).toMatch(/href=["']checkout-flow\/index.html["']/)

    for (const id of ['run-1', 'run-2', 'run-3']) {
      const files = (await readdir(join(base, 'checkout-flow', id))).sort()
      expect(files).toEqual([
        'failures.csv',
        'index.html',
        'result.json',
        'stats.csv',
        'summary.json',
        'throughput.csv',
      ])
    }
    const first = await readFile(join(base, 'checkout-flow', 'run-1', 'index.html'), 'utf8')
    expect(first).toContain('No earlier passing run to compare with.')
    const third = await readFile(join(base, 'checkout-flow', 'run-3', 'index.html'), 'utf8')
    expect(third).toContain('<a href="../run-2/index.html"><code>run-2</code></a>')
    expect(third).toContain('Δ p95')
    expect(third).toMatch(/<span class="delta worse" title="baseline [^"]+">\+\d+ %<\/span>/)
    expect(third).toContain('<tr class="regressed">')
  })

  it('rebuilds lost indexes (and summaries) from the stored results', async () => {
    const base = join(tmp, 'reports')
    for (const [i, scenario] of ['checkout-flow', 'search', 'checkout-flow'].entries()) {
      const r = await resultFile(`r${i}`, {
        seed: i + 1,
        runId: `run-${i}`,
        scenario,
        startedAtMs: T0 + i * DAY,
      })
      expect(await reportCommand([r.path, '--store', base])).toBe(0)
    }
    await rm(join(base, 'index.html'))
    await rm(join(base, 'checkout-flow', 'index.html'))
    await rm(join(base, 'checkout-flow', 'run-0', 'summary.json'))

    expect(await indexCommand([base])).toBe(0)
    expect(rows(await readFile(join(base, 'index.html'), 'utf8'), 'scenario-row')).toHaveLength(2)
    expect(rows(await readFile(join(base, 'checkout-flow', 'index.html'), 'utf8'), 'run-row')).toHaveLength(2)
    expect(rows(await readFile(join(base, 'search', 'index.html'), 'utf8'), 'run-row')).toHaveLength(1)
    expect((await stat(join(base, 'checkout-flow', 'run-0', 'summary.json'))).size).toBeGreaterThan(100)
  })

  it('compares with the previous passing run, not a failed one, unless --baseline names a run', async () => {
    const base = join(tmp, 'reports')
    const pass = await resultFile('p', { seed: 1, runId: 'good', startedAtMs: T0 })
    const fail = await resultFile('f', { seed: 2, runId: 'bad', startedAtMs: T0 + DAY, verdict: 'fail' })
    const now = await resultFile('n', { seed: 3, runId: 'now', startedAtMs: T0 + 2 * DAY })
    for (const r of [pass, fail, now]) expect(await reportCommand([r.path, '--store', base])).toBe(0)
    expect(await readFile(join(base, 'checkout-flow', 'now', 'index.html'), 'utf8')).toContain(
      '<code>good</code></a>',
    )

    expect(await reportCommand([now.path, '--store', base, '--baseline', 'bad'])).toBe(0)
    const html = await readFile(join(base, 'checkout-flow', 'now', 'index.html'), 'utf8')
    expect(html).toContain('<code>bad</code></a>')
    expect(html).toContain('chosen with --baseline')
  })

  it('the CLI exits 104 with a clear message for bad input', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 30_000,
      })
    const missing = cli('report', join(tmp, 'nope.json'))
    expect(missing.status).toBe(104)
    expect(missing.stderr).toMatch(/cannot read .*nope.json \(ENOENT\)\. Pass the path of a result.json/)
    expect(missing.stderr).toContain('HORDE_ERR_REPORT_RESULT_MISSING')
    const noArgs = cli('report')
    expect(noArgs.status).toBe(104)
    expect(noArgs.stderr).toContain('horde report takes one result.json')
    const badStore = cli('report', 'x.json', '--store', 'gs://Bad_Bucket!')
    expect(badStore.status).toBe(104)
  })

  it('an unknown --baseline is refused, naming the runs that exist', async () => {
    const base = join(tmp, 'reports')
    const first = await resultFile('x', { seed: 1, runId: 'first', startedAtMs: T0 })
    const second = await resultFile('y', { seed: 2, runId: 'second', startedAtMs: T0 + DAY })
    expect(await reportCommand([first.path, '--store', base])).toBe(0)
    await expect(reportCommand([second.path, '--store', base, '--baseline', 'ghost'])).rejects.toMatchObject({
      code: 'HORDE_ERR_REPORT_BASELINE',
      message: expect.stringContaining('recent runs: first') as unknown,
    })
  })
})

describe('writeRunReport (what the master calls at the end of a run)', () => {
  it('writes index.html beside result.json, keeps the master CSVs, compares with the sibling run and refreshes the indexes', async () => {
    const base = join(tmp, 'horde-results')
    const write = async (id: string, options: FixtureOptions): Promise<string> => {
      const dir = join(base, 'checkout-flow', id)
      await mkdir(dir, { recursive: true })
      await writeFile(
        join(dir, 'result.json'),
        JSON.stringify(makeRunResult({ runId: id, durationS: 90, ...options })),
      )
      await writeFile(join(dir, 'stats.csv'), 'written by the master\n')
      return join(dir, 'result.json')
    }
    const first = await write('r1', { seed: 1, startedAtMs: T0 })
    const second = await write('r2', { seed: 2, startedAtMs: T0 + DAY, latencyFactor: 1.5 })
    await writeRunReport(first)
    const { htmlPath } = await writeRunReport(second)
    expect(htmlPath).toBe(join(base, 'checkout-flow', 'r2', 'index.html'))
    const html = await readFile(htmlPath, 'utf8')
    expect(html).toContain('<code>r1</code></a>')
    expect(html).toContain('href="stats.csv" download')
    expect(await readFile(join(base, 'checkout-flow', 'r2', 'stats.csv'), 'utf8')).toBe(
      'written by the master\n',
    )
    expect(rows(await readFile(join(base, 'checkout-flow', 'index.html'), 'utf8'), 'run-row')).toHaveLength(2)
    expect(rows(await readFile(join(base, 'index.html'), 'utf8'), 'scenario-row')).toHaveLength(1)
  })

  it('works for a lone result.json in any folder', async () => {
    const dir = join(tmp, 'somewhere')
    await mkdir(dir)
    await writeFile(join(dir, 'result.json'), JSON.stringify(makeRunResult({ durationS: 60 })))
    // Unrelated neighbours in the shared parent: a broken result.json is skipped, a deep tree is not walked.
    await mkdir(join(tmp, 'junk'))
    await writeFile(join(tmp, 'junk', 'result.json'), '{ not json')
    await mkdir(join(tmp, 'deep', 'a', 'b'), { recursive: true })
    await writeFile(
      join(tmp, 'deep', 'a', 'b', 'result.json'),
      JSON.stringify(makeRunResult({ runId: 'deep', startedAtMs: 0 })),
    )
    const warnings: string[] = []
    const { htmlPath } = await writeRunReport(join(dir, 'result.json'), {
      log: (line) => warnings.push(line),
    })
    expect(htmlPath).toBe(join(dir, 'index.html'))
    expect(warnings).toEqual([
      expect.stringMatching(/skipping .*junk: .*junk\/result.json is not valid JSON/),
    ])
    expect(await readFile(htmlPath, 'utf8')).toContain('No earlier passing run to compare with.')
    expect((await readdir(dir)).sort()).toEqual([
      'failures.csv',
      'index.html',
      'result.json',
      'stats.csv',
      'summary.json',
      'throughput.csv',
    ])
    expect((await readdir(tmp)).sort()).toEqual(['deep', 'junk', 'somewhere'])
  })
})
