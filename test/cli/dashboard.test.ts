/// <reference lib="dom" />
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { openInChromium, type OpenedPage } from '../helpers/chromium.js'
import { startHorde } from '../helpers/horde-cli.js'
import type { TestProcess } from '../helpers/processes.js'
import { startTargetServer, type TargetServer } from '../helpers/target-server.js'
import { MARKUP_NAME } from '../helpers/scenarios/dashboard.js'

/**
 * The live dashboard of a running `horde run --dashboard`, in Debian's headless Chromium: it updates, shows the
 * control API's numbers, its buttons drive the run (with the token) or are refused (without), and markup in
 * endpoint names stays text.
 */
const SCENARIO = fileURLToPath(new URL('../helpers/scenarios/dashboard.ts', import.meta.url))
const TOKEN = 'dashboard-test-token-4f1c'
/** A screenshot is kept for people (and CI artifacts) to look at. */
const ARTIFACTS =
  process.env.HORDE_TEST_ARTIFACTS ??
  fileURLToPath(new URL('../../.tmp/artifacts/dashboard', import.meta.url))

let target: TargetServer | undefined
let horde: TestProcess | undefined
let opened: OpenedPage | undefined
let out: string | undefined
let proxy: Server | undefined
let other: Server | undefined
afterEach(async () => {
  await opened?.close()
  opened = undefined
  horde?.kill('SIGKILL')
  if (horde !== undefined) await horde.exited
  horde = undefined
  await target?.close()
  target = undefined
  if (proxy !== undefined) {
    proxy.closeAllConnections()
    await new Promise<void>((resolve) => proxy?.close(() => resolve()))
  }
  proxy = undefined
  if (other !== undefined) {
    other.closeAllConnections()
    await new Promise<void>((resolve) => other?.close(() => resolve()))
  }
  other = undefined
  if (out !== undefined) await rm(out, { recursive: true, force: true })
  out = undefined
})

async function startRun(extra: string[] = []): Promise<{ url: string; process: TestProcess }> {
  target = await startTargetServer()
  out = await mkdtemp(join(tmpdir(), 'horde-dashboard-'))
  const proc = startHorde(
    [
      'run',
      SCENARIO,
      '--users',
      '4',
      '--spawn-rate',
      '4',
      '--duration',
      '90s',
      '--host',
      target.url,
      '--out',
      out,
      '--dashboard',
      ...extra,
    ],
    { HORDE_API_TOKEN: '' },
  )
  horde = proc
  const line = await proc.waitFor(/live dashboard http:\/\/127\.0\.0\.1:\d+\//, 30_000)
  return { url: line.replace('live dashboard ', ''), process: proc }
}

const attr = (o: OpenedPage, name: string): Promise<string | null> =>
  o.page.evaluate((n) => document.body.getAttribute(n), name)

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/** Requests that arrived at the target, from its own per-second log. */
const arrivals = (): number => [...(target?.arrivalsPerSecond().values() ?? [])].reduce((a, b) => a + b, 0)

async function api(
  url: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL(path, url), {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers },
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** Pixels of a chart's canvas close to a series colour: the series was drawn, not only the axes. */
async function seriesPixels(o: OpenedPage, chartId: string, rgb: [number, number, number]): Promise<number> {
  return o.page.evaluate(
    ([id, [r, g, b]]) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`#${id} canvas`)
      const data = canvas?.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data
      if (data === undefined) return -1
      let n = 0
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i]! - r) < 24 && Math.abs(data[i + 1]! - g) < 24 && Math.abs(data[i + 2]! - b) < 24)
          n++
      }
      return n
    },
    [chartId, rgb] as const,
  )
}

describe('the live dashboard of horde run --dashboard, in headless Chromium', () => {
  it('updates every second, equals the control API, renders markup as text; pause and stop work with the token', async () => {
    const { url, process: proc } = await startRun(['--api-token', TOKEN])
    opened = await openInChromium(url, { width: 1400, height: 1000 }, [url.replace(/\/$/, '')])
    const o = opened
    await o.page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 })

    // Charts update: more points, series drawn.
    await waitUntil('a few updates with load', async () => Number(await attr(o, 'data-points')) >= 4, 30_000)
    const points = Number(await attr(o, 'data-points'))
    await waitUntil('the chart to grow', async () => Number(await attr(o, 'data-points')) > points, 5_000)
    await waitUntil(
      'requests in the rps chart',
      async () => (await seriesPixels(o, 'chart-rps', [9, 105, 218])) > 100,
      15_000,
    )
    expect(Number(await attr(o, 'data-charts'))).toBeGreaterThanOrEqual(3)

    // Lost polls: for 3.5 s none reaches the master. The page then catches up with one delta from the version it
    // shows and ends up with exactly what a fresh page would get.
    const answers: Array<{ v: string; base: string | null; added: number }> = []
    o.page.on('response', (response) => {
      if (!response.url().includes('dashboard/data') || response.status() !== 200) return
      response
        .json()
        .then(
          (body: { v: string; base: string | null; chart: { t?: number[]; columns?: { t: number[] } } }) =>
            answers.push({
              v: body.v,
              base: body.base,
              added: (body.chart.columns?.t ?? body.chart.t ?? []).length,
            }),
        )
        .catch(() => {})
    })
    await o.page.route('**/dashboard/data*', (route) => route.abort())
    // Another viewer goes on polling meanwhile, so the master moves several versions on.
    for (let i = 0; i < 12; i++) {
      await (await fetch(new URL('dashboard/data', url))).arrayBuffer()
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    const behind = String(await attr(o, 'data-version'))
    await o.page.unroute('**/dashboard/data*')
    const seq = (v: string): number => Number(v.split('-')[1])
    await waitUntil(
      'a delta from the version the page was left at',
      async () => answers.some((a) => a.base === behind),
      15_000,
    )
    const catchUp = answers.find((a) => a.base === behind)!
    expect(seq(catchUp.v) - seq(behind)).toBeGreaterThanOrEqual(2)
    // The seconds the page missed, and not the whole series again.
    expect(catchUp.added).toBeGreaterThanOrEqual(3)
    expect(catchUp.added).toBeLessThan(Number(await attr(o, 'data-points')))
    await waitUntil(
      'the page to equal a fresh full update of the same version',
      async () => {
        const shown = await o.page.evaluate(() => {
          const d = (window as unknown as { hordeDashboard: { version(): string; chart(): unknown } })
            .hordeDashboard
          return { v: d.version(), chart: d.chart() }
        })
        const full = (await (await fetch(new URL('dashboard/data', url))).json()) as {
          v: string
          chart: unknown
        }
        if (full.v !== shown.v) return false
        expect(shown.chart).toEqual(full.chart)
        return true
      },
      15_000,
    )

    await mkdir(ARTIFACTS, { recursive: true })
    await o.page.screenshot({ path: join(ARTIFACTS, 'dashboard-live.png'), fullPage: true })

    // Markup in the endpoint name is text; nothing ran.
    await o.page.waitForSelector('#endpoint-table tbody tr', { timeout: 15_000 })
    expect(await o.page.locator('#endpoint-table td.name').first().textContent()).toBe(MARKUP_NAME)
    expect(await o.page.evaluate(() => document.querySelectorAll('img, [onerror], b').length)).toBe(0)
    expect(await o.page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined()

    // Without the token the buttons are refused by the API and the load goes on.
    await o.page.click('#btn-pause')
    await o.page.waitForSelector('#control-message[data-status="401"]', { timeout: 5_000 })
    await o.page.click('#btn-stop')
    await o.page.waitForSelector('#control-message[data-status="401"]', { timeout: 5_000 })
    expect((await api(url, 'status')).body.paused).toBe(false)
    const beforeRefused = arrivals()
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(arrivals()).toBeGreaterThan(beforeRefused)

    // With the token, pause stops new requests within 1 s.
    await o.page.fill('#token', TOKEN)
    await o.page.click('#token-form button')
    await o.page.click('#btn-pause')
    await o.page.waitForSelector('#control-message[data-status="200"]', { timeout: 5_000 })
    expect((await api(url, 'status')).body.paused).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const pausedAt = arrivals()
    await new Promise((resolve) => setTimeout(resolve, 2000))
    expect(arrivals()).toBe(pausedAt)
    await waitUntil(
      'the paused phase on the page',
      async () => (await attr(o, 'data-phase')) === 'paused',
      5_000,
    )

    // While paused the numbers settle: the page shows what GET /stats says.
    await waitUntil(
      "the page's request count to equal the control API's",
      async () => {
        const stats = (await api(url, 'stats')).body as unknown as {
          endpoints: Array<{ name: string; requests: number; failures: number }>
        }
        const row = stats.endpoints.find((e) => e.name === MARKUP_NAME)
        const shown = await o.page.evaluate(() => {
          const cells = document.querySelector('#endpoint-table tbody tr')?.querySelectorAll('td')
          return cells === undefined
            ? null
            : [Number(cells[2]?.getAttribute('data-v')), Number(cells[3]?.getAttribute('data-v'))]
        })
        return (
          row !== undefined && row.requests > 0 && shown?.[0] === row.requests && shown[1] === row.failures
        )
      },
      15_000,
    )

    // Retarget and resume from the page reach the master.
    await o.page.fill('#target-value', '2')
    await o.page.selectOption('#target-kind', 'users')
    await o.page.click('#btn-target')
    await o.page.waitForSelector('#control-message[data-status="200"]', { timeout: 5_000 })
    expect((await api(url, 'status')).body.targetUsers).toBe(2)
    await o.page.click('#btn-resume')
    await waitUntil('the run to resume', async () => (await api(url, 'status')).body.paused === false, 5_000)
    const resumedAt = arrivals()
    await waitUntil('requests again after resume', async () => arrivals() > resumedAt, 10_000)

    // Stop ends the run as `stopped`.
    await o.page.click('#btn-stop')
    await o.page.waitForSelector('#control-message[data-status="202"]', { timeout: 5_000 })
    expect(await proc.exited).toBe(105)
    const result = JSON.parse(await readFile(join(out!, 'result.json'), 'utf8')) as { verdict: string }
    expect(result.verdict).toBe('stopped')
    expect(o.dialogs).toEqual([])
    expect(o.problems.filter((p) => !p.includes('401') && !p.includes('Failed to load resource'))).toEqual([])
  }, 120_000)

  it('works under a path prefix (a service proxy): relative links, updates, and Pause through the proxy; a page of another origin is refused', async () => {
    // No control token: the same-origin rule alone stands between other pages and the controls.
    const { url } = await startRun()
    const backend = new URL(url)
    const PREFIX = '/api/v1/namespaces/load/services/horde-master:8089/proxy'
    const seen: Array<{ method: string; path: string; status: number }> = []
    // What the API server's service proxy does: strips the prefix, forwards to the Service's address with
    // the backend's Host, and says which host it was called by.
    proxy = createServer((req, res) => {
      const path = req.url ?? ''
      if (!path.startsWith(`${PREFIX}/`)) {
        res.writeHead(404).end('outside the proxy prefix')
        return
      }
      const upstream = request(
        {
          host: backend.hostname,
          port: backend.port,
          method: req.method,
          path: path.slice(PREFIX.length),
          headers: { ...req.headers, host: backend.host, 'x-forwarded-host': req.headers.host },
        },
        (up) => {
          seen.push({ method: req.method ?? '', path: path.slice(PREFIX.length), status: up.statusCode ?? 0 })
          res.writeHead(up.statusCode ?? 502, up.headers)
          up.pipe(res)
        },
      )
      // A held poll is cut when the run ends: the proxy drops its client's connection too.
      upstream.on('error', () => res.destroy())
      req.pipe(upstream)
    })
    await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve))
    const proxyOrigin = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
    // Another page on this machine (another port: same site, another origin) that tries to drive the run.
    other = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>other</title>')
    })
    await new Promise<void>((resolve) => other!.listen(0, '127.0.0.1', resolve))
    const otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`

    opened = await openInChromium(`${proxyOrigin}${PREFIX}/`, { width: 1200, height: 900 }, [
      proxyOrigin,
      otherOrigin,
    ])
    const o = opened
    await o.page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 })
    await waitUntil(
      'two updates through the proxy',
      async () => Number(await attr(o, 'data-updates')) >= 2,
      15_000,
    )
    expect(seen.length).toBeGreaterThan(2)
    expect(o.blocked).toEqual([])
    // The page through the proxy is this run's dashboard.
    const runId = await o.page.locator('meta[name="horde-run-id"]').getAttribute('content')
    expect(runId).toBe((await api(url, 'status')).body.runId)

    // The other page's requests reach the master (no-cors: the browser sends them without a preflight) and
    // are refused there: the run is neither paused nor stopped.
    const evil = await o.context.newPage()
    await evil.goto(`${otherOrigin}/`)
    await evil.evaluate(async (base) => {
      for (const path of ['pause', 'stop']) {
        await fetch(`${base}/${path}`, { method: 'POST', mode: 'no-cors', body: '{}' }).catch(() => null)
      }
    }, `${proxyOrigin}${PREFIX}`)
    await evil.close()
    const refused = seen.filter((r) => r.method === 'POST')
    expect(refused.map((r) => `${r.path} ${r.status}`)).toEqual(['/pause 403', '/stop 403'])
    const status = (await api(url, 'status')).body
    expect([status.paused, status.phase]).toEqual([false, 'running'])

    // The dashboard's own Pause button, through the same proxy, works.
    await o.page.click('#btn-pause')
    await o.page.waitForSelector('#control-message[data-status="200"]', { timeout: 5_000 })
    expect(seen.filter((r) => r.method === 'POST').map((r) => `${r.path} ${r.status}`)).toEqual([
      '/pause 403',
      '/stop 403',
      '/pause 200',
    ])
    expect((await api(url, 'status')).body.paused).toBe(true)
    expect(seen.filter((r) => !r.path.startsWith('/'))).toEqual([])
  }, 90_000)
})
