import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { startProcess, stopProcess, waitFor, type TestProcess } from '../helpers/processes.js'
import { startLocustWorker } from '../helpers/locust.js'
import { startHordeWorker, VOTE_SCENARIO, masterArgs } from '../helpers/horde-cli.js'

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('horde master (headless, for a cluster)', () => {
  let target: DemoTarget | undefined
  const started: TestProcess[] = []
  let out: string

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'horde-master-'))
    return () => rmSync(out, { recursive: true, force: true })
  })
  afterEach(async () => {
    for (const s of started.splice(0)) await stopProcess(s)
    await target?.close()
    target = undefined
  })

  it('waits for its expected workers (a Locust and a Horde worker), runs, quits them and exits with the verdict', async () => {
    target = await startDemoTarget()
    const port = await freePort()
    const dir = join(out, 'mixed')
    const master = startProcess(process.execPath, [
      'bin/horde.js',
      ...masterArgs({
        workers: 2,
        users: 4,
        spawnRate: 4,
        duration: '5s',
        port,
        host: target.url,
        out: dir,
      }),
    ])
    started.push(master)
    await waitFor(() => master.output().includes('waiting for 2 worker'), 20_000, 'master bound')
    const locust = startLocustWorker(port)
    const horde = startHordeWorker(port, target.url)
    started.push(locust, horde)
    expect(await master.exited, master.output()).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.verdict).toBe('pass')
    expect(result.totals.requests).toBe(target.servedTotal())
    expect(result.workers.map((w) => w.kind).sort()).toEqual(['', 'horde'])
    // Both workers were told to quit: no load survives the run.
    await Promise.race([
      Promise.all([locust.exited, horde.exited]),
      new Promise((r) => setTimeout(r, 10_000)),
    ])
    expect(locust.child.exitCode ?? locust.child.signalCode).not.toBeNull()
    expect(horde.child.exitCode ?? horde.child.signalCode).not.toBeNull()
  })

  it('expected workers that never come make the run invalid (exit 106)', async () => {
    target = await startDemoTarget()
    const dir = join(out, 'nobody')
    const master = startProcess(process.execPath, [
      'bin/horde.js',
      'master',
      VOTE_SCENARIO,
      '--expect-workers',
      '2',
      '--expect-workers-timeout',
      '2s',
      '-u',
      '2',
      '-t',
      '5s',
      '--master-host',
      '127.0.0.1',
      '--master-port',
      '0',
      '--host',
      target.url,
      '--api-port',
      '0',
      '--out',
      dir,
    ])
    started.push(master)
    expect(await master.exited, master.output()).toBe(106)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.verdict).toBe('invalid')
    expect(result.verdictReasons[0]).toMatch(/Expected workers never came: only 0 of 2/)
    expect(target.servedTotal()).toBe(0)
  })

  it('SIGTERM (a cancelled Job) stops the run gracefully: verdict stopped, exit 105, outputs written', async () => {
    target = await startDemoTarget()
    const dir = join(out, 'cancelled')
    const run = startProcess(process.execPath, [
      'bin/horde.js',
      'run',
      VOTE_SCENARIO,
      '-u',
      '2',
      '-r',
      '2',
      '-t',
      '60s',
      '-w',
      '1',
      '--host',
      target.url,
      '--out',
      dir,
    ])
    started.push(run)
    await waitFor(() => target!.servedTotal() > 20, 20_000, 'load')
    process.kill(run.child.pid as number, 'SIGTERM')
    expect(await run.exited, run.output()).toBe(105)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.verdict).toBe('stopped')
    expect(result.verdictReasons[0]).toMatch(/received SIGTERM/)
    expect(result.totals.requests).toBe(target.servedTotal())
    expect(run.output()).toMatch(/STOPPED: /)
  })
})
