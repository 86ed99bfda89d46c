import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { formatMs } from '../../report/format.js'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { REPO_ROOT, startHorde } from '../helpers/horde-cli.js'
import { freePort, killAllStarted, type TestProcess } from '../helpers/processes.js'
import { startTargetServer, type TargetServer } from '../helpers/target-server.js'

let target: TargetServer | undefined
let dir: string | undefined
afterEach(async () => {
  await killAllStarted()
  await target?.close()
  target = undefined
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

const scenario = `${REPO_ROOT}test/scenarios/open.ts`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function setup(): Promise<{ target: TargetServer; out: string }> {
  target = await startTargetServer()
  dir = mkdtempSync(join(tmpdir(), 'horde-open-'))
  return { target, out: join(dir, 'run') }
}

function result(out: string): MasterRunResult {
  return JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as MasterRunResult
}

async function controlUrl(run: TestProcess): Promise<string> {
  const line = await run.waitFor(/control API http:\/\/127\.0\.0\.1:\d+/, 20_000)
  return line.replace('control API ', '')
}

/** Arrivals at the target per whole second, from the first second with traffic. */
function perSecond(t: TargetServer): Array<[number, number]> {
  return [...t.arrivalsPerSecond()].sort((a, b) => a[0] - b[0])
}

describe('horde run in the open model', () => {
  it('--rps 300 --duration 10s --workers 2: the target serves 3000 ± 3 %', async () => {
    const { target, out } = await setup()
    const run = startHorde([
      'run',
      scenario,
      '--rps',
      '300',
      '--duration',
      '10s',
      '--workers',
      '2',
      '--host',
      target.url,
      '--out',
      out,
    ])
    expect(await run.exited, run.output()).toBe(0)
    const served = target.total()
    expect(served).toBeGreaterThanOrEqual(2910)
    expect(served).toBeLessThanOrEqual(3090)
    const r = result(out)
    expect(r.verdict).toBe('pass')
    expect(r.config.targetRps).toBe(300)
    expect(r.openModel?.droppedIterations).toBe(0)
    expect(r.openModel?.startedIterations).toBeGreaterThan(2800)
    // An iteration counts in the window it started in, its request in the window it completed in: a few
    // iterations straddle the end of the measured window.
    expect(Math.abs(r.totals.requests - r.openModel!.startedIterations)).toBeLessThanOrEqual(5)
    // The time series carries the target and the achieved rate.
    const steady = r.timeSeries.filter((p) => p.targetRps !== undefined).slice(1, -1)
    expect(steady.length).toBeGreaterThanOrEqual(6)
    for (const point of steady) {
      expect(point.targetRps).toBe(300)
      expect(point.iterationsStarted).toBeGreaterThan(270)
      expect(point.iterationsStarted).toBeLessThan(330)
    }
    // Both workers carried load.
    expect(r.workers.filter((w) => (w as { requests?: number }).requests! > 1000)).toHaveLength(2)
  })

  it('one of two workers killed with SIGKILL: the target gets the full rate again within 5 s', async () => {
    const { target, out } = await setup()
    const port = await freePort()
    const master = startHorde([
      'master',
      scenario,
      '--rps',
      '200',
      '--duration',
      '16s',
      '--expect-workers',
      '2',
      '--master-host',
      '127.0.0.1',
      '--master-port',
      String(port),
      '--host',
      target.url,
      '--out',
      out,
    ])
    const workers = [1, 2].map(() => startHorde(['worker', scenario, '--master-port', String(port)]))
    await workers[0]!.waitFor(/control applied/, 20_000)
    await sleep(4000)
    const killedAt = Date.now()
    workers[0]!.kill('SIGKILL')
    expect(await master.exited, master.output()).not.toBe(104)
    const killSecond = Math.floor(killedAt / 1000)
    const seconds = perSecond(target).filter(([s]) => s > killSecond)
    const recovered = seconds.find(([, n]) => n >= 180)
    expect(recovered, JSON.stringify(seconds)).toBeDefined()
    expect(recovered![0] - killSecond).toBeLessThanOrEqual(5)
    // ... and it holds afterwards.
    const after = seconds.filter(([s]) => s > recovered![0] && s < Math.floor(Date.now() / 1000) - 2)
    for (const [, n] of after.slice(0, -1)) expect(n).toBeGreaterThan(170)
    const r = result(out)
    expect(r.events.some((e) => e.kind === 'worker-missing')).toBe(true)
  })

  it('a 1 s stall shows in the corrected p99 and not fully in the actual one; a small pool drops and is invalid', async () => {
    const { target, out } = await setup()
    const run = startHorde([
      'run',
      scenario,
      '--rps',
      '200',
      '--users',
      '4',
      '--duration',
      '8s',
      '--host',
      target.url,
      '--out',
      out,
    ])
    await run.waitFor(/control API/, 20_000)
    await sleep(3500)
    target.stallFor(1000)
    await run.exited
    const r = result(out)
    expect(r.openModel!.correctedLatency.p99Ms!).toBeGreaterThan(700)
    expect(r.totals.p99Ms!).toBeLessThan(r.openModel!.correctedLatency.p99Ms! / 2)
    // The report written next to result.json shows the corrected p99 too, not only the actual one.
    const html = readFileSync(join(out, 'index.html'), 'utf8')
    expect(html).toMatch(
      new RegExp(
        `p99 corrected[^]{0,300}?${formatMs(r.openModel!.correctedLatency.p99Ms).replace('.', '\\.')}`,
      ),
    )

    const slow = await startTargetServer()
    try {
      const out2 = join(dir!, 'small-pool')
      const small = startHorde(
        [
          'run',
          scenario,
          '--rps',
          '100',
          '--users',
          '5',
          '--duration',
          '6s',
          '--host',
          slow.url,
          '--out',
          out2,
        ],
        { HORDE_TEST_PATH: '/delay/200' },
      )
      expect(await small.exited, small.output()).toBe(106)
      const r2 = result(out2)
      expect(r2.verdict).toBe('invalid')
      expect(r2.openModel!.droppedIterations).toBeGreaterThan(0)
      expect(r2.verdictReasons.join(' ')).toMatch(/dropped \d+ of \d+ scheduled iterations/)
    } finally {
      await slow.close()
    }
  })

  it('horde ctl: pause stops new requests within 1 s, resume brings the rate back, retarget 100 → 200', async () => {
    const { target, out } = await setup()
    const run = startHorde([
      'run',
      scenario,
      '--rps',
      '100',
      '--duration',
      '12s',
      '--host',
      target.url,
      '--out',
      out,
    ])
    const api = await controlUrl(run)
    await sleep(2500)
    const ctl = async (...args: string[]) => {
      const p = startHorde(['ctl', api, ...args])
      expect(await p.exited, p.output()).toBe(0)
      return p.output()
    }
    await ctl('pause')
    await sleep(1000)
    const atPause = target.total()
    await sleep(1500)
    expect(target.total()).toBe(atPause)
    await ctl('resume')
    await sleep(1000)
    const resumed = target.total() - atPause
    expect(resumed).toBeGreaterThan(80)
    await ctl('set', '--rps', '200')
    expect(await ctl('status')).toMatch(/"targetRps":200/)
    expect(await run.exited, run.output()).toBe(0)
    const r = result(out)
    const kinds = r.events.map((e) => e.kind)
    expect(kinds).toEqual(expect.arrayContaining(['paused', 'resumed', 'retargeted']))
    const paused = r.timeSeries.filter((p) => p.phase === 'paused')
    expect(paused.length).toBeGreaterThanOrEqual(2)
    const at200 = r.timeSeries.filter((p) => p.targetRps === 200)
    expect(at200.length).toBeGreaterThanOrEqual(2)
    const full = at200.slice(1, -1)
    for (const point of full) expect(point.iterationsStarted).toBeGreaterThan(170)
  })
})
