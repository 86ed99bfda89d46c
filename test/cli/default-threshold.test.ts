import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { freePort, startProcess, stopProcess, type TestProcess } from '../helpers/processes.js'

// vote.ts declares no thresholds: the default http_req_failed rate<0.01 must decide.
const SCENARIO = join(import.meta.dirname, '../helpers/scenarios/vote.ts')

describe('a scenario without thresholds gets the default http_req_failed: rate<0.01', () => {
  let out: string
  let run: TestProcess | undefined
  let target: DemoTarget | undefined
  let resetter: Server | undefined

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'horde-default-threshold-'))
    return () => rmSync(out, { recursive: true, force: true })
  })
  afterEach(async () => {
    await stopProcess(run)
    run = undefined
    await target?.close()
    target = undefined
    const server = resetter
    resetter = undefined
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  async function runAgainst(
    host: string,
    dir: string,
  ): Promise<{ code: number | string; result: MasterRunResult }> {
    run = startProcess(process.execPath, [
      'bin/horde.js',
      'run',
      SCENARIO,
      '--users',
      '2',
      '--spawn-rate',
      '2',
      '--duration',
      '3s',
      '--host',
      host,
      '--skip-host-check',
      '--out',
      join(out, dir),
    ])
    const code = await run.exited
    const result = JSON.parse(readFileSync(join(out, dir, 'result.json'), 'utf8')) as MasterRunResult
    return { code, result }
  }

  function expectDefaultFailed(code: number | string, result: MasterRunResult, output: string): void {
    expect(code, output).toBe(99)
    expect(result.verdict).toBe('fail')
    expect(result.thresholds).toEqual([
      expect.objectContaining({
        metric: 'http_req_failed',
        expression: 'rate<0.01',
        ok: false,
        isDefault: true,
      }),
    ])
    expect(result.totals.failures).toBeGreaterThan(0)
    expect(output).toMatch(
      /FAIL http_req_failed rate<0\.01 .*\[default: the scenario declares no thresholds\]/,
    )
    expect(output).toMatch(
      /FAIL: Default threshold \(the scenario declares none\) http_req_failed rate<0\.01 failed/,
    )
  }

  it('a refused port gives FAIL and exit 99', async () => {
    const port = await freePort() // nothing listens there
    const { code, result } = await runAgainst(`http://127.0.0.1:${port}`, 'refused')
    expectDefaultFailed(code, result, run?.output() ?? '')
    expect(result.errors.some((e) => /ECONNREFUSED/i.test(e.error))).toBe(true)
  })

  it('a name that cannot resolve gives FAIL and exit 99', async () => {
    const { code, result } = await runAgainst('http://horde-test.invalid:8080', 'dns')
    expectDefaultFailed(code, result, run?.output() ?? '')
    expect(result.errors.some((e) => /ENOTFOUND|EAI_AGAIN/i.test(e.error))).toBe(true)
  })

  it('a server that resets most connections gives FAIL and exit 99', async () => {
    // Resets every connection outright (TCP RST): a real peer, not a simulated error.
    let resets = 0
    const server = createServer((socket: Socket) => {
      resets += 1
      socket.resetAndDestroy()
    })
    resetter = server
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const { code, result } = await runAgainst(`http://127.0.0.1:${port}`, 'resets')
    expectDefaultFailed(code, result, run?.output() ?? '')
    expect(resets).toBeGreaterThan(10)
    expect(result.totals.failures).toBe(result.totals.requests)
  })

  it('a healthy target passes and the verdict says the default threshold decided', async () => {
    target = await startDemoTarget()
    const { code, result } = await runAgainst(target.url, 'healthy')
    expect(code, run?.output()).toBe(0)
    expect(result.thresholds).toEqual([expect.objectContaining({ ok: true, isDefault: true, observed: 0 })])
    expect(run?.output()).toMatch(/PASS: The default threshold http_req_failed rate<0\.01 passed/)
  })
})
