import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import type { RunResult } from '../../src/shared/result.js'
import type { TerminationSummary } from '../../src/cli/termination-message.js'
import { freePort, startProcess, stopProcess, waitFor, type TestProcess } from '../helpers/processes.js'
import { startHordeWorker, VOTE_SCENARIO } from '../helpers/horde-cli.js'

describe('horde master --store and --termination-log (what a Kubernetes master leaves behind)', () => {
  let target: DemoTarget | undefined
  const started: TestProcess[] = []
  let tmp: string

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'horde-master-store-'))
    return () => rmSync(tmp, { recursive: true, force: true })
  })
  afterEach(async () => {
    for (const s of started.splice(0)) await stopProcess(s)
    await target?.close()
    target = undefined
  })

  it('stores result, CSVs and report in the store and writes a JSON summary that agrees with result.json', async () => {
    target = await startDemoTarget()
    const port = await freePort()
    const out = join(tmp, 'out')
    const store = join(tmp, 'store')
    const terminationLog = join(tmp, 'termination-log')
    const master = startProcess(
      process.execPath,
      [
        'bin/horde.js',
        'master',
        VOTE_SCENARIO,
        '-u',
        '2',
        '-r',
        '2',
        '-t',
        '3s',
        '--master-host',
        '127.0.0.1',
        '--master-port',
        String(port),
        '--host',
        target.url,
        '--api-port',
        '0',
        '--out',
        out,
        '--run-id',
        'stored-1',
      ],
      // The env forms, as the Kubernetes ConfigMap and pod spec give them.
      { env: { HORDE_REPORT_STORE: store, HORDE_TERMINATION_LOG: terminationLog } },
    )
    started.push(master)
    await waitFor(() => master.output().includes('waiting for 1 worker'), 20_000, 'master bound')
    started.push(startHordeWorker(port, target.url))
    expect(await master.exited, master.output()).toBe(0)

    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as RunResult
    const runDir = join(store, 'vote-test', 'stored-1')
    for (const file of ['result.json', 'index.html']) expect(existsSync(join(runDir, file)), file).toBe(true)
    expect(existsSync(join(store, 'index.html'))).toBe(true)
    const summary = JSON.parse(readFileSync(terminationLog, 'utf8')) as TerminationSummary
    expect(summary).toMatchObject({
      verdict: 'pass',
      exitCode: 0,
      runId: 'stored-1',
      totals: { requests: target.servedTotal(), failures: 0 },
    })
    expect(summary.totals.requests).toBe(result.totals.requests)
    expect(summary.reportUrl).toBe(join(runDir, 'index.html'))
    expect(Buffer.byteLength(readFileSync(terminationLog))).toBeLessThan(4096)
  })
})
