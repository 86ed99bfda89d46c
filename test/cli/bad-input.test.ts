import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import { startProcess, stopProcess, type TestProcess } from '../helpers/processes.js'

const SCENARIO = join(import.meta.dirname, '../helpers/scenarios/vote.ts')

describe('horde run rejects bad input before any load (exit 104)', () => {
  let target: DemoTarget
  const started: TestProcess[] = []
  beforeAll(async () => {
    target = await startDemoTarget()
  })
  afterAll(async () => {
    for (const s of started) await stopProcess(s)
    await target.close()
  })

  async function run(args: string[]): Promise<{ code: number | string; output: string }> {
    const child = startProcess(process.execPath, ['bin/horde.js', 'run', ...args])
    started.push(child)
    const code = await child.exited
    return { code, output: child.output() }
  }

  const cases: Array<[string, () => string[], RegExp]> = [
    [
      'users 0',
      () => [SCENARIO, '--users', '0', '--duration', '5s', '--host', target.url],
      /--users must be a whole number ≥ 1 .*received "0"/,
    ],
    [
      'a negative spawn rate',
      () => [SCENARIO, '--users', '2', '--spawn-rate=-1', '--duration', '5s', '--host', target.url],
      /--spawn-rate must be a positive number/,
    ],
    [
      'duration "abc"',
      () => [SCENARIO, '--users', '2', '--duration', 'abc', '--host', target.url],
      /--duration must be a duration such as '30s'.*received "abc"/,
    ],
    [
      'more workers than users',
      () => [SCENARIO, '--users', '2', '--workers', '3', '--duration', '5s', '--host', target.url],
      /--workers must not exceed the users \(2\)/,
    ],
    [
      'an unreachable host',
      () => [SCENARIO, '--users', '2', '--duration', '5s', '--host', 'http://127.0.0.1:9'],
      /HORDE_ERR_CLI_HOST_UNREACHABLE/,
    ],
    [
      'a missing scenario',
      () => ['does-not-exist.ts', '--users', '2', '--duration', '5s', '--host', target.url],
      /scenario file not found/,
    ],
    [
      'a duration that overflows a timer (597h)',
      () => [SCENARIO, '--users', '2', '--duration', '597h', '--host', target.url],
      /--duration must be at most 596h31m23s .*received "597h"/,
    ],
    [
      'stages whose total overflows a timer',
      () => [SCENARIO, '--stages', '300h:2,300h:2', '--host', target.url],
      /--duration must be at most 596h31m23s/,
    ],
    [
      'users in hex (0x10)',
      () => [SCENARIO, '--users', '0x10', '--duration', '5s', '--host', target.url],
      /--users must be a whole number ≥ 1 written in decimal digits.*received "0x10"/,
    ],
    [
      'users with an exponent (1e3)',
      () => [SCENARIO, '--users', '1e3', '--duration', '5s', '--host', target.url],
      /--users must be a whole number.*received "1e3"/,
    ],
    [
      'users with trailing letters (12abc)',
      () => [SCENARIO, '--users', '12abc', '--duration', '5s', '--host', target.url],
      /--users must be a whole number.*received "12abc"/,
    ],
    [
      'workers in hex',
      () => [SCENARIO, '--users', '4', '--workers', '0x2', '--duration', '5s', '--host', target.url],
      /--workers must be a whole number.*received "0x2"/,
    ],
    [
      'a spawn rate in hex',
      () => [SCENARIO, '--users', '2', '--spawn-rate', '0x10', '--duration', '5s', '--host', target.url],
      /--spawn-rate must be a positive number.*received "0x10"/,
    ],
    [
      'a control API beyond loopback without a token',
      () => [SCENARIO, '--users', '2', '--duration', '5s', '--host', target.url, '--api-host', '0.0.0.0'],
      /--api-host listens beyond loopback, so the control API needs a token: set --api-token .*received "0\.0\.0\.0"/,
    ],
    ['an unknown flag', () => [SCENARIO, '--userz', '2'], /Unknown option '--userz'/],
    [
      'a warm-up longer than the run',
      () => [SCENARIO, '--users', '2', '--duration', '5s', '--warmup', '10s', '--host', target.url],
      /--warmup must be shorter than the run/,
    ],
  ]

  it.each(cases)('%s', async (_name, args, message) => {
    const before = target.servedTotal()
    const { code, output } = await run(args())
    expect(code, output).toBe(104)
    expect(output).toMatch(message)
    expect(target.servedTotal()).toBe(before)
  })
})
