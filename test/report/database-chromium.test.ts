/// <reference lib="dom" />
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { renderReport } from '../../report/index.js'
import { openInChromium, type OpenedPage } from '../helpers/chromium.js'
import { makeDbRunResult } from '../helpers/db-run-result.js'

const ARTIFACTS =
  process.env.HORDE_TEST_ARTIFACTS ?? fileURLToPath(new URL('../../.tmp/artifacts/report', import.meta.url))
const INJECTED = '<img src=x onerror="window.__pwned=7">'

let dir: string | undefined
let opened: OpenedPage | undefined
afterEach(async () => {
  await opened?.close()
  opened = undefined
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

/** Pixels of a chart's canvas close to a colour: the series was drawn, not just the axes. */
async function pixels(o: OpenedPage, chartId: string, [r, g, b]: [number, number, number]): Promise<number> {
  return o.page.evaluate(
    ([id, rgb]) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`#${id} canvas`)
      const data = canvas?.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data
      if (data === undefined) return -1
      let n = 0
      for (let i = 0; i < data.length; i += 4) {
        if (
          Math.abs(data[i]! - rgb[0]) < 24 &&
          Math.abs(data[i + 1]! - rgb[1]) < 24 &&
          Math.abs(data[i + 2]! - rgb[2]) < 24 &&
          data[i + 3]! > 200
        )
          n++
      }
      return n
    },
    [chartId, [r, g, b]] as const,
  )
}

describe('the database section in real headless Chromium', () => {
  it('draws tps per transaction type, sorts the table, and keeps transaction names as text', async () => {
    const result = makeDbRunResult({ seed: 9, saturatedFrom: 20, txName: INJECTED })
    dir = await mkdtemp(join(tmpdir(), 'horde-report-db-'))
    const file = join(dir, 'index.html')
    await writeFile(file, renderReport(result))
    opened = await openInChromium(pathToFileURL(file).href)
    const o = opened
    await o.page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 })
    expect(o.problems).toEqual([])
    expect(o.blocked).toEqual([])
    expect(await o.page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined()
    expect(await o.page.locator('#database img').count()).toBe(0)
    expect(await o.page.locator('#database-table').textContent()).toContain(INJECTED)

    // The four standard charts plus the tps chart; its two series in the palette's first two colours.
    expect(await o.page.evaluate(() => document.body.dataset.charts)).toBe('5')
    expect(await pixels(o, 'chart-tx', [9, 105, 218])).toBeGreaterThan(200)
    expect(await pixels(o, 'chart-tx', [191, 135, 0])).toBeGreaterThan(200)
    const legend = await o.page.locator('#chart-tx .u-legend').textContent()
    expect(legend).toContain('transfer')
    expect(legend).toContain(INJECTED)

    // Sorting by tps: busiest first, then the other way.
    const column = () =>
      o.page.evaluate(() =>
        Array.from(document.querySelectorAll('#database-table tbody tr')).map((r) =>
          Number(r.querySelectorAll('td')[1]?.getAttribute('data-v')),
        ),
      )
    await o.page.locator('#database-table th', { hasText: 'tps' }).click()
    const first = await column()
    expect(first[0]).toBeGreaterThanOrEqual(first[1] ?? Infinity)
    await o.page.locator('#database-table th', { hasText: 'tps' }).click()
    const second = await column()
    expect(second[0]).toBeLessThanOrEqual(second[1] ?? -Infinity)

    await mkdir(ARTIFACTS, { recursive: true })
    await o.page.locator('#database').screenshot({ path: join(ARTIFACTS, 'report-database.png') })
  })
})
