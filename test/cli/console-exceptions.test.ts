import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import { REPO_ROOT, startProcess, stopProcess, type TestProcess } from '../helpers/processes.js'

describe('the console shows task exceptions', () => {
  let target: DemoTarget
  let out: string
  let run: TestProcess | undefined
  beforeAll(async () => {
    target = await startDemoTarget()
    out = mkdtempSync(join(tmpdir(), 'horde-console-'))
  })
  afterAll(async () => {
    await stopProcess(run)
    await target.close()
    rmSync(out, { recursive: true, force: true })
  })

  it('per second in the progress line, and the top ones with counts at the end', async () => {
    run = startProcess(process.execPath, [
      'bin/horde.js',
      'run',
      `${REPO_ROOT}test/scenarios/throwing.ts`,
      '-u',
      '2',
      '-r',
      '2',
      '-t',
      '5s',
      '--host',
      target.url,
      '--out',
      out,
    ])
    await run.exited
    const output = run.output()
    expect(output).toMatch(/^\[ *\d+s\] .* exc\/s +\d+\.\d/m)
    const total = /Exceptions in tasks: (\d+) reported/.exec(output)
    expect(total, output).not.toBeNull()
    expect(Number(total?.[1])).toBeGreaterThan(5)
    expect(output).toMatch(/^ {2}\d+x Error: boom from the task \(at /m)
  })
})
