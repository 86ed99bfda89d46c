import { Storage } from '@google-cloud/storage'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { publishRun } from '../../report/index.js'
import { indexCommand, reportCommand } from '../../src/cli/commands/report.js'
import { freePort, startGcsEmulatorAsStore, type GcsEmulator } from '../helpers/gcs-emulator.js'
import { makeRunResult, type FixtureOptions } from '../helpers/run-result-fixture.js'

/**
 * Against firebase-tools' Storage emulator over HTTP on 127.0.0.1, driven by the real @google-cloud/storage
 * client through STORAGE_EMULATOR_HOST (with apiEndpoint, metadata PATCH and copy answer 501).
 */
const BUCKET = 'horde-reports'
const STORE = `gs://${BUCKET}/load-tests`
const T0 = Date.UTC(2025, 5, 2, 7)
const DAY = 86_400_000

let emulator: GcsEmulator | undefined
let tmp: string

beforeAll(async () => {
  emulator = await startGcsEmulatorAsStore()
  tmp = await mkdtemp(join(tmpdir(), 'horde-gcs-test-'))
}, 600_000)

afterAll(async () => {
  await emulator?.stop()
  await rm(tmp, { recursive: true, force: true })
})

async function resultFile(name: string, options: FixtureOptions): Promise<string> {
  const dir = join(tmp, name)
  await mkdir(dir, { recursive: true })
  await writeFile(
    join(dir, 'result.json'),
    JSON.stringify(makeRunResult({ durationS: 90, endpoints: 5, ...options })),
  )
  return join(dir, 'result.json')
}

const bucket = () => new Storage({ projectId: 'demo-horde' }).bucket(BUCKET)
const text = async (name: string): Promise<string> =>
  (await bucket().file(name).download())[0].toString('utf8')
const rowCount = (html: string, cls: string): number =>
  html.split(new RegExp(`<tr class=["']${cls}["']>`)).length - 1

describe('GCS store (firebase-tools Storage emulator)', () => {
  it('uploads runs with the right Content-Type and Cache-Control, lists them and compares with the previous run', async () => {
    const paths = [
      await resultFile('one', { seed: 1, runId: 'gcs-1', startedAtMs: T0 }),
      await resultFile('two', { seed: 2, runId: 'gcs-2', startedAtMs: T0 + DAY }),
      await resultFile('three', { seed: 3, runId: 'gcs-3', startedAtMs: T0 + 2 * DAY, latencyFactor: 1.5 }),
    ]
    for (const p of paths.slice(0, 2)) expect(await reportCommand([p, '--store', STORE])).toBe(0)
    const third = await publishRun(paths[2]!, { store: STORE })
    expect(third.uploaded).toBe(true)
    expect(third.uploadError).toBeNull()
    expect(third.baselineRunId).toBe('gcs-2')
    expect(third.url).toBe(
      `${emulator!.host}/download/storage/v1/b/${BUCKET}/o/${encodeURIComponent('load-tests/checkout-flow/gcs-3/index.html')}?alt=media`,
    )
    expect(third.jobSummary).toContain(`[Open the full report](${third.url})`)

    const [files] = await bucket().getFiles({ prefix: 'load-tests/' })
    const names = files.map((f) => f.name).sort()
    for (const id of ['gcs-1', 'gcs-2', 'gcs-3']) {
      for (const f of [
        'index.html',
        'result.json',
        'summary.json',
        'stats.csv',
        'throughput.csv',
        'failures.csv',
      ])
        expect(names).toContain(`load-tests/checkout-flow/${id}/${f}`)
    }
    expect(names).toContain('load-tests/checkout-flow/index.html')
    expect(names).toContain('load-tests/index.html')

    const meta = async (name: string) => (await bucket().file(name).getMetadata())[0]
    expect(await meta('load-tests/checkout-flow/gcs-3/index.html')).toMatchObject({
      contentType: 'text/html; charset=utf-8',
      cacheControl: 'public, max-age=300',
    })
    expect(await meta('load-tests/checkout-flow/gcs-3/result.json')).toMatchObject({
      contentType: 'application/json; charset=utf-8',
    })
    expect(await meta('load-tests/checkout-flow/gcs-3/stats.csv')).toMatchObject({
      contentType: 'text/csv; charset=utf-8',
    })
    expect(await meta('load-tests/checkout-flow/index.html')).toMatchObject({
      contentType: 'text/html; charset=utf-8',
      cacheControl: 'no-cache, max-age=0',
    })
    expect(await meta('load-tests/index.html')).toMatchObject({ cacheControl: 'no-cache, max-age=0' })

    // The printed URL serves the report over HTTP.
    const response = await fetch(third.url)
    expect(response.status).toBe(200)
    expect(await response.text()).toContain('<meta name="horde-run-id" content="gcs-3">')

    expect(rowCount(await text('load-tests/checkout-flow/index.html'), 'run-row')).toBe(3)
    const report = await text('load-tests/checkout-flow/gcs-3/index.html')
    expect(report).toContain('<a href="../gcs-2/index.html"><code>gcs-2</code></a>')
    expect(report).toContain('class="delta worse"')
    // The local copy was written too, beside result.json.
    expect((await readdir(join(tmp, 'three'))).sort()).toEqual([
      'failures.csv',
      'index.html',
      'result.json',
      'stats.csv',
      'summary.json',
      'throughput.csv',
    ])
  })

  it('rebuilds deleted indexes from the stored results with horde index', async () => {
    await bucket().file('load-tests/index.html').delete()
    await bucket().file('load-tests/checkout-flow/index.html').delete()
    await bucket().file('load-tests/checkout-flow/gcs-1/summary.json').delete()
    expect(await indexCommand([STORE])).toBe(0)
    expect(rowCount(await text('load-tests/checkout-flow/index.html'), 'run-row')).toBe(3)
    expect(rowCount(await text('load-tests/index.html'), 'scenario-row')).toBe(1)
    expect(JSON.parse(await text('load-tests/checkout-flow/gcs-1/summary.json'))).toMatchObject({
      runId: 'gcs-1',
      verdict: 'pass',
    })
  })

  it('a failed upload keeps everything on disk, says so, and exits 1', async () => {
    const path = await resultFile('offline', { seed: 7, runId: 'gcs-offline', startedAtMs: T0 + 3 * DAY })
    const live = process.env.STORAGE_EMULATOR_HOST
    process.env.STORAGE_EMULATOR_HOST = `http://127.0.0.1:${await freePort()}` // nothing listens there
    try {
      const published = await publishRun(path, { store: STORE, gcsRetries: 0 })
      expect(published.uploaded).toBe(false)
      expect(published.uploadError).toMatch(/ECONNREFUSED|connect/i)
      expect(published.url).toBe(join(tmp, 'offline', 'index.html'))
      expect(await readFile(published.htmlPath, 'utf8')).toContain('gcs-offline')
      expect((await readdir(join(tmp, 'offline'))).sort()).toEqual([
        'failures.csv',
        'index.html',
        'result.json',
        'stats.csv',
        'summary.json',
        'throughput.csv',
      ])
      process.env.HORDE_GCS_RETRIES = '0'
      // The exit-code table's 104, as for an --out that cannot be written (never a bare 1).
      expect(await reportCommand([path, '--store', STORE])).toBe(104)
    } finally {
      delete process.env.HORDE_GCS_RETRIES
      process.env.STORAGE_EMULATOR_HOST = live
    }
    const [files] = await bucket().getFiles({ prefix: 'load-tests/checkout-flow/gcs-offline/' })
    expect(files).toEqual([])
  })
})
