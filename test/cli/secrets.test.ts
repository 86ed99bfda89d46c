import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { startProcess, stopProcess, type TestProcess } from '../helpers/processes.js'

const SCENARIO = join(import.meta.dirname, '../helpers/scenarios/vote.ts')
const SECRET = 'Sup3r-Secret-pw'

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

describe('user:password in --host never reaches result.json, logs, report or console', () => {
  let target: DemoTarget
  let out: string
  let run: TestProcess | undefined
  beforeAll(async () => {
    target = await startDemoTarget()
    out = mkdtempSync(join(tmpdir(), 'horde-secrets-'))
  })
  afterAll(async () => {
    await stopProcess(run)
    await target.close()
    rmSync(out, { recursive: true, force: true })
  })

  it('a run with credentials in --host: the load runs, every output is redacted', async () => {
    const host = target.url.replace('http://', `http://alice:${SECRET}@`)
    run = startProcess(process.execPath, [
      'bin/horde.js',
      'run',
      SCENARIO,
      '-u',
      '2',
      '-t',
      '3s',
      '--host',
      host,
      '--out',
      out,
      '--log-level',
      'debug',
    ])
    const code = await run.exited
    expect(code, run.output()).toBe(0)
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.config.host).toBe(target.url.replace('http://', 'http://[redacted]@'))
    expect(result.totals.requests).toBeGreaterThan(0)
    const files = filesUnder(out)
    // result.json, CSVs, the HTML report and the workers' JSON logs.
    expect(files.some((f) => f.endsWith('index.html'))).toBe(true)
    expect(files.filter((f) => f.endsWith('.log')).length).toBeGreaterThan(0)
    for (const file of files) expect(readFileSync(file, 'utf8'), file).not.toContain(SECRET)
    expect(run.output()).not.toContain(SECRET)
  })

  it('an unreachable host with credentials: the error names the host without them', async () => {
    run = startProcess(process.execPath, [
      'bin/horde.js',
      'run',
      SCENARIO,
      '-u',
      '1',
      '-t',
      '2s',
      '--host',
      `http://alice:${SECRET}@127.0.0.1:9`,
    ])
    expect(await run.exited).toBe(104)
    expect(run.output()).toMatch(/--host http:\/\/\[redacted\]@127\.0\.0\.1:9 is unreachable/)
    expect(run.output()).not.toContain(SECRET)
  })
})
