import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { REPO_ROOT, startHorde } from '../helpers/horde-cli.js'
import { freePort, killAllStarted, type TestProcess } from '../helpers/processes.js'
import { startTargetServer, type TargetServer } from '../helpers/target-server.js'

let target: TargetServer | undefined
const out = mkdtempSync(join(tmpdir(), 'horde-master-stop-'))

afterEach(async () => {
  await killAllStarted()
  await target?.close()
  target = undefined
})
afterAll(() => rmSync(out, { recursive: true, force: true }))

function startMaster(scenario: string, port: number, dir: string, extra: string[] = []): TestProcess {
  return startHorde([
    'master',
    scenario,
    '--expect-workers',
    '1',
    '-u',
    '2',
    '-r',
    '2',
    '-t',
    '4s',
    '--master-host',
    '127.0.0.1',
    '--master-port',
    String(port),
    '--host',
    target!.url,
    '--api-port',
    '0',
    '--out',
    dir,
    ...extra,
  ])
}

function startWorker(scenario: string, port: number, env: NodeJS.ProcessEnv = {}): TestProcess {
  return startHorde(['worker', scenario, '--master-port', String(port), '--host', target!.url], env)
}

const blockOnce = `${REPO_ROOT}test/scenarios/block-once.ts`
const stuck = `${REPO_ROOT}test/scenarios/stuck.ts`

describe('the master never ends a run while a worker it knows of may still load the target', () => {
  it('waits for a worker marked missing (its loop blocked 7 s) to confirm quit, and counts its requests', async () => {
    target = await startTargetServer()
    const port = await freePort()
    const dir = join(out, 'blocked')
    const master = startMaster(blockOnce, port, dir)
    await master.waitFor(/waiting for workers/, 20_000)
    const worker = startWorker(blockOnce, port, { HORDE_TEST_BLOCK_MS: '7000' })
    expect(await master.exited, master.output()).not.toBe(1)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.events.map((e) => e.kind)).toContain('worker-missing')
    expect(result.unconfirmedWorkers).toEqual([])
    // The worker's final report (sent when it woke and quit) is in the result: nothing it did is unaccounted.
    const served = target.total()
    expect(served).toBeGreaterThan(0)
    expect(result.totals.requests).toBe(served)
    expect(
      await Promise.race([worker.exited, new Promise((r) => setTimeout(() => r('running'), 8000))]),
    ).not.toBe('running')
    await new Promise((r) => setTimeout(r, 500))
    expect(target.total()).toBe(served)
  })

  it('names a worker that never confirms within the bound; that worker still stops by itself', async () => {
    target = await startTargetServer()
    const port = await freePort()
    const dir = join(out, 'unconfirmed')
    const master = startMaster(blockOnce, port, dir)
    await master.waitFor(/waiting for workers/, 20_000)
    const worker = startWorker(blockOnce, port, { HORDE_TEST_BLOCK_MS: '12000' })
    await master.exited
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.unconfirmedWorkers).toHaveLength(1)
    const event = result.events.find((e) => e.kind === 'workers-unconfirmed')
    expect(event?.message).toMatch(/1 worker\(s\) did not confirm quit within \d+ s/)
    // It wakes at ~12 s and stops: on the quit queued for it (0), or on finding the master gone (105).
    const code = await Promise.race([
      worker.exited,
      new Promise((r) => setTimeout(() => r('running'), 15_000)),
    ])
    expect([0, 105]).toContain(code)
    const served = target.total()
    await new Promise((r) => setTimeout(r, 500))
    expect(target.total()).toBe(served)
  })

  it('reports tasks a worker abandoned after the stop timeout in result.json and the events', async () => {
    target = await startTargetServer()
    const port = await freePort()
    const dir = join(out, 'stuck')
    const master = startMaster(stuck, port, dir, ['-u', '3'])
    await master.waitFor(/waiting for workers/, 20_000)
    const worker = startWorker(stuck, port)
    await master.exited
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(await worker.exited).toBe(0)
    // 3 users, one per class: the Stuck one is always abandoned, the SlowResponse one unless the quit came
    // before its request started (then it ends on the abort).
    expect(result.abandonedTasks, worker.output() + master.output()).toBeGreaterThanOrEqual(1)
    expect(result.abandonedTasks).toBeLessThanOrEqual(2)
    const event = result.events.find((e) => e.kind === 'tasks-abandoned')
    expect(event?.details?.abandonedTasks).toBe(result.abandonedTasks)
  })
})
