/// <reference lib="dom" />
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { publishRun, renderReport } from '../../report/index.js'
import { openInChromium, type OpenedPage } from '../helpers/chromium.js'
import { MALICIOUS_ERROR, MALICIOUS_NAME, makeRunResult } from '../helpers/run-result-fixture.js'

/** Screenshots are kept for people (and CI artifacts) to look at. */
const ARTIFACTS =
  process.env.HORDE_TEST_ARTIFACTS ?? fileURLToPath(new URL('../../.tmp/artifacts/report', import.meta.url))

let dir: string | undefined
let opened: OpenedPage | undefined
afterEach(async () => {
  await opened?.close()
  opened = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

async function open(html: string): Promise<OpenedPage> {
  dir = await mkdtemp(join(tmpdir(), 'horde-report-'))
  const file = join(dir, 'index.html')
  await writeFile(file, html)
  opened = await openInChromium(pathToFileURL(file).href)
  await opened.page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 })
  return opened
}

/** Pixels of a chart's canvas close to a series colour: proves the series was drawn, not just the axes. */
async function seriesPixels(o: OpenedPage, chartId: string, rgb: [number, number, number]): Promise<number> {
  return o.page.evaluate(
    ([id, [r, g, b]]) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`#${id} canvas`)
      if (canvas === null) return -1
      const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data
      if (data === undefined) return -1
      let n = 0
      for (let i = 0; i < data.length; i += 4) {
        if (
          Math.abs(data[i]! - r) < 24 &&
          Math.abs(data[i + 1]! - g) < 24 &&
          Math.abs(data[i + 2]! - b) < 24 &&
          data[i + 3]! > 200
        )
          n++
      }
      return n
    },
    [chartId, rgb] as const,
  )
}

/**
 * Clicks the numeric header `headerText` of `table` twice: the first click sorts descending, the second
 * ascending (table-sort.js). Returns the column's raw values (data-v) after each click.
 */
async function clickSort(o: OpenedPage, table: string, headerText: string): Promise<number[][]> {
  const header = o.page.locator(`${table} thead th`, { hasText: headerText }).first()
  const column = async (): Promise<number[]> =>
    o.page.evaluate(
      ([sel, text]) => {
        const t = document.querySelector<HTMLTableElement>(sel)!
        const index = Array.from(t.tHead!.rows[0]!.cells).findIndex((c) => c.textContent.includes(text))
        return Array.from(t.tBodies[0]!.rows).map((r) => Number(r.cells[index]!.getAttribute('data-v')))
      },
      [table, headerText] as const,
    )
  await header.click()
  const first = await column()
  await header.click()
  return [first, await column()]
}

const descending = (values: number[]): boolean => values.every((v, i) => i === 0 || values[i - 1]! >= v)
const ascending = (values: number[]): boolean => values.every((v, i) => i === 0 || values[i - 1]! <= v)

describe('the report in real headless Chromium, network blocked', () => {
  it('renders charts, runs no injected markup, logs no errors, and keeps a screenshot', async () => {
    const baseline = makeRunResult({ seed: 4, runId: 'run-prev', startedAtMs: Date.UTC(2025, 2, 13, 9, 30) })
    const result = makeRunResult({
      seed: 5,
      runId: 'run-now',
      malicious: true,
      latencyFactor: 1.25,
      failureRate: 0.02,
    })
    const o = await open(
      renderReport(result, {
        baseline,
        baselineHref: '../run-prev/index.html',
        datadog: { site: 'datadoghq.com', service: 'shop' },
      }),
    )
    const { page } = o

    expect(o.problems).toEqual([])
    expect(o.blocked).toEqual([])
    expect(o.dialogs).toEqual([])
    expect(await page.evaluate(() => performance.getEntriesByType('resource').length)).toBe(0)
    expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined()

    // Injected markup is shown as text and created no elements.
    expect(await page.locator('#endpoint-table').textContent()).toContain(MALICIOUS_NAME)
    expect(await page.locator('#errors').textContent()).toContain('<img src=x onerror="window.__pwned=2">')
    expect(await page.locator('#errors pre', { hasText: 'onerror' }).textContent()).toBe(MALICIOUS_ERROR)
    expect(await page.locator('#events').textContent()).toContain('<svg onload="window.__pwned=4">')
    expect(await page.locator('h1').textContent()).toBe('checkout <b>bold</b>')
    expect(
      await page.evaluate(
        () => document.querySelectorAll('img, iframe, object, embed, [onload], [onerror]').length,
      ),
    ).toBe(0)
    expect(await page.evaluate(() => document.scripts.length)).toBe(5)

    // Charts: one canvas each, with the series drawn in their colours.
    expect(await page.evaluate(() => document.body.dataset.charts)).toBe('4')
    expect(await seriesPixels(o, 'chart-rps', [9, 105, 218])).toBeGreaterThan(300)
    expect(await seriesPixels(o, 'chart-rps', [207, 34, 46])).toBeGreaterThan(100)
    expect(await seriesPixels(o, 'chart-latency', [191, 135, 0])).toBeGreaterThan(300)
    expect(await seriesPixels(o, 'chart-users', [130, 80, 223])).toBeGreaterThan(200)
    expect(await seriesPixels(o, 'chart-dist', [207, 34, 46])).toBeGreaterThan(100)

    // Verdict, deltas and regressions are on the page.
    expect(await page.locator('.verdict-badge').textContent()).toBe(result.verdict.toUpperCase())
    expect(await page.locator('.baseline').textContent()).toContain('run-prev')
    expect(await page.locator('#endpoint-table .delta.worse').count()).toBeGreaterThan(0)

    // Sortable: requests descending puts the busiest endpoint first.
    await page.locator('#endpoint-table th', { hasText: 'Requests' }).click()
    const first = await page
      .locator('#endpoint-table tbody tr')
      .first()
      .locator('td')
      .nth(2)
      .getAttribute('data-v')
    expect(Number(first)).toBe(Math.max(...result.endpoints.map((e) => e.requests)))

    await mkdir(ARTIFACTS, { recursive: true })
    await page.evaluate(() => window.scrollTo(0, 0))
    const shot = join(ARTIFACTS, 'report-closed-model.png')
    await page.screenshot({ path: shot, fullPage: true })
    expect((await stat(shot)).size).toBeGreaterThan(50_000)
  })

  it('draws target vs achieved rate and dropped iterations for an open-model run', async () => {
    const o = await open(
      renderReport(makeRunResult({ seed: 6, runId: 'run-open', targetRps: 400, verdict: 'invalid' })),
    )
    expect(o.problems).toEqual([])
    expect(o.blocked).toEqual([])
    expect(await o.page.evaluate(() => document.body.dataset.charts)).toBe('5')
    expect(await seriesPixels(o, 'chart-open', [31, 35, 40])).toBeGreaterThan(100)
    expect(await seriesPixels(o, 'chart-open', [207, 34, 46])).toBeGreaterThan(100)
    expect(await o.page.locator('.verdict-badge').textContent()).toBe('INVALID')
    await mkdir(ARTIFACTS, { recursive: true })
    await o.page.screenshot({ path: join(ARTIFACTS, 'report-open-model.png'), fullPage: true })
  })

  it('history pages built from runs with markup in their names render it as text', async () => {
    dir = await mkdtemp(join(tmpdir(), 'horde-report-index-'))
    const store = join(dir, 'store')
    for (const seed of [1, 2]) {
      const result = makeRunResult({
        seed,
        runId: `<img src=x onerror=window.__pwned=${seed}>`,
        malicious: true,
        durationS: 60,
        startedAtMs: Date.UTC(2025, 0, seed),
      })
      const file = join(dir, `r${seed}.json`)
      await writeFile(file, JSON.stringify(result))
      await publishRun(file, { store })
    }
    for (const page of ['index.html', 'checkout-b-bold-b/index.html']) {
      opened = await openInChromium(pathToFileURL(join(store, page)).href)
      await opened.page.waitForSelector('body[data-ready="1"]')
      expect(opened.problems).toEqual([])
      expect(opened.dialogs).toEqual([])
      expect(
        await opened.page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned),
      ).toBeUndefined()
      expect(await opened.page.evaluate(() => document.querySelectorAll('img, [onerror]').length)).toBe(0)
      expect(await opened.page.locator('main').textContent()).toContain(
        page === 'index.html' ? 'checkout <b>bold</b>' : '<img src=x onerror=window.__pwned=2>',
      )
      if (page !== 'index.html') {
        // The shared table-sort script works on the index pages too.
        const [down, up] = await clickSort(opened, '#runs', 'p95')
        expect(new Set(down).size, 'two runs with different p95').toBe(2)
        expect(descending(down!) && ascending(up!), JSON.stringify({ down, up })).toBe(true)
      }
      await mkdir(ARTIFACTS, { recursive: true })
      await opened.page.screenshot({
        path: join(ARTIFACTS, page === 'index.html' ? 'index-root.png' : 'index-scenario.png'),
        fullPage: true,
      })
      await opened.close()
      opened = undefined
    }
  })
})
