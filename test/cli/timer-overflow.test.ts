import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startProcess, stopProcess, type TestProcess } from '../helpers/processes.js'

// Node clamps a timer above 2^31-1 ms to 1 ms: a `--master-timeout 700h` would make a worker give up on its
// master at once. Every duration flag that feeds a timer is refused with the maximum, before anything starts.
const SCENARIO = join(import.meta.dirname, '../helpers/scenarios/vote.ts')

describe('duration flags that would overflow a timer exit 104 naming the maximum', () => {
  const started: TestProcess[] = []
  afterAll(async () => {
    for (const s of started) await stopProcess(s)
  })

  async function horde(args: string[]): Promise<{ code: number | string; output: string }> {
    const child = startProcess(process.execPath, ['bin/horde.js', ...args])
    started.push(child)
    const code = await child.exited
    return { code, output: child.output() }
  }

  it.each([
    [
      'worker --master-timeout',
      ['worker', SCENARIO, '--master-port', '1', '--master-timeout', '700h'],
      '--master-timeout',
    ],
    [
      'worker --rejoin-window',
      ['worker', SCENARIO, '--master-port', '1', '--rejoin-window', '600h'],
      '--rejoin-window',
    ],
    [
      'master --expect-workers-timeout',
      ['master', SCENARIO, '--users', '1', '--duration', '5s', '--expect-workers-timeout', '700h'],
      '--expect-workers-timeout',
    ],
  ])('%s', async (_name, args, flag) => {
    const { code, output } = await horde(args)
    expect(code, output).toBe(104)
    expect(output).toContain(flag)
    expect(output).toMatch(/at most 596h31m23s/)
  })
})
