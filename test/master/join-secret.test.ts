import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Dealer } from 'zeromq'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import type { WorkerSummary } from '../../src/shared/result.js'
import { startHorde, VOTE_SCENARIO, masterArgs } from '../helpers/horde-cli.js'
import { startLocustWorker } from '../helpers/locust.js'
import { freePort, killAllStarted } from '../helpers/processes.js'
import { loadFixture } from '../protocol/fixture-manifest.js'

let target: DemoTarget | undefined
const out = mkdtempSync(join(tmpdir(), 'horde-join-'))
const SECRET = 'correct horse battery staple'

afterEach(async () => {
  await killAllStarted()
  await target?.close()
  target = undefined
})
afterAll(() => rmSync(out, { recursive: true, force: true }))

function worker(port: number, secret: string | undefined) {
  return startHorde(
    ['worker', VOTE_SCENARIO, '--master-port', String(port), '--host', target!.url],
    // An empty variable is "not set": this worker has no secret at all.
    { HORDE_JOIN_SECRET: secret ?? '' },
  )
}

describe('who may join a master started with a join secret', () => {
  it('admits a Horde worker with the secret and a Locust 2.12.1 worker; refuses Horde peers without it and drops stray stats', async () => {
    target = await startDemoTarget()
    const port = await freePort()
    const dir = join(out, 'run')
    const master = startHorde(
      [
        ...masterArgs({
          workers: 2,
          users: 4,
          spawnRate: 4,
          duration: '5s',
          port,
          host: target.url,
          out: dir,
        }),
      ],
      { HORDE_JOIN_SECRET: SECRET },
    )
    await master.waitFor(/waiting for workers/, 20_000)
    const noSecret = worker(port, undefined)
    const wrongSecret = worker(port, 'not the right secret')
    expect(await noSecret.exited).toBe(104)
    expect(await wrongSecret.exited).toBe(104)
    expect(noSecret.output()).toMatch(/the master refused us: start the worker with the run's --join-secret/)

    // A stray process that skips client_ready and sends heartbeats and stats (captured from a real Locust
    // worker: 71 requests each) must not count.
    const stray = new Dealer({ routingId: 'stray_0123456789abcdef', linger: 0 })
    stray.connect(`tcp://127.0.0.1:${port}`)
    const stats = loadFixture('locust-2.12.1', 'worker-009-w2m-stats.bin').bytes
    const heartbeat = loadFixture('locust-2.12.1', 'worker-002-w2m-heartbeat.bin').bytes
    const injecting = (async () => {
      for (let i = 0; i < 200 && master.child.exitCode === null; i++) {
        await stray.send(i % 2 === 0 ? stats : heartbeat)
        await new Promise((r) => setTimeout(r, 20))
      }
    })()

    const good = worker(port, SECRET)
    const locust = startLocustWorker(port)
    expect(await master.exited, master.output()).toBe(0)
    await injecting
    stray.close()
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.workers.map((w) => w.kind).sort()).toEqual(['', 'horde'])
    expect(result.totals.requests).toBe(target.servedTotal())
    expect(result.totals.requests).toBeGreaterThan(0)
    for (const w of result.workers as Array<WorkerSummary & { requests: number }>)
      expect(w.requests).toBeGreaterThan(0)
    const lines = master.output().split('\n')
    // Refusals and the stray's messages are logged, rate-limited: a handful of lines, not one per message.
    const refusals = lines.filter((l) => l.includes('refused a Horde worker without a valid join secret'))
    expect(refusals.length).toBeGreaterThanOrEqual(1)
    expect(refusals.length).toBeLessThanOrEqual(3)
    const unknown = lines.filter((l) => l.includes('message from an unregistered worker ignored'))
    expect(unknown.length).toBeGreaterThanOrEqual(1)
    expect(unknown.length).toBeLessThanOrEqual(3)
    expect(master.output()).not.toContain(SECRET)
    await Promise.all([good.exited, locust.exited])
  })

  it('without a secret on the master, Horde workers join as before (and one with a secret is fine too)', async () => {
    target = await startDemoTarget()
    const port = await freePort()
    const dir = join(out, 'open')
    const master = startHorde(
      [
        ...masterArgs({
          workers: 2,
          users: 2,
          spawnRate: 2,
          duration: '2s',
          port,
          host: target.url,
          out: dir,
        }),
      ],
      { HORDE_JOIN_SECRET: '' },
    )
    await master.waitFor(/waiting for workers/, 20_000)
    worker(port, undefined)
    worker(port, SECRET)
    expect(await master.exited, master.output()).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.workers).toHaveLength(2)
  })

  it('horde run gives its own workers a fresh secret: a stray worker on the same machine cannot take its work', async () => {
    target = await startDemoTarget()
    const dir = join(out, 'local')
    const run = startHorde([
      'run',
      VOTE_SCENARIO,
      '-u',
      '2',
      '-r',
      '2',
      '-t',
      '6s',
      '--workers',
      '2',
      '--host',
      target.url,
      '--log-level',
      'info',
      '--out',
      dir,
    ])
    const listening = await run.waitFor(/"port":\d+[^\n]*master listening for workers/, 20_000)
    const port = Number(/"port":(\d+)/.exec(listening)?.[1])
    expect(port).toBeGreaterThan(0)
    // Even with the environment's HORDE_JOIN_SECRET unset, the run's master refuses a worker it did not start.
    const stray = worker(port, undefined)
    expect(await stray.exited).toBe(104)
    expect(stray.output()).toMatch(/the master refused us/)
    expect(await run.exited, run.output()).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.workers).toHaveLength(2)
    expect(result.totals.requests).toBe(target.servedTotal())
  })
})
