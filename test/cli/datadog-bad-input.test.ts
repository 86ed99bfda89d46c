import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startProcess, stopProcess, type TestProcess } from '../helpers/processes.js'

const SCENARIOS = join(import.meta.dirname, '../helpers/scenarios')

describe('bad Datadog settings are refused before any load (exit 104), naming the field and the fix', () => {
  const started: TestProcess[] = []
  afterAll(async () => {
    for (const s of started) await stopProcess(s)
  })

  async function horde(
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ): Promise<{ code: number | string; output: string }> {
    const child = startProcess(process.execPath, ['bin/horde.js', ...args], { env })
    started.push(child)
    const code = await child.exited
    return { code, output: child.output() }
  }

  // --skip-host-check: nothing listens at the scenario's host, and none of these may get as far as load.
  const load = ['-u', '1', '-t', '2s', '--skip-host-check']
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    [
      'a sample above 1',
      ['run', join(SCENARIOS, 'untraced.ts'), ...load, '--trace-sample', '2'],
      {},
      /--trace-sample must be the share of requests to trace, a number above 0 and at most 1 .*received "2"/,
    ],
    [
      'a sample that is not a number, from the environment',
      ['run', join(SCENARIOS, 'untraced.ts'), ...load],
      { HORDE_TRACE_SAMPLE: '1%' },
      /--trace-sample must be .*received "1%"/,
    ],
    [
      'HORDE_TRACE=yes',
      ['worker', join(SCENARIOS, 'untraced.ts')],
      { HORDE_TRACE: 'yes' },
      /HORDE_TRACE must be 1 or true \(tracing on\) or 0 or false \(off\), received "yes"/,
    ],
    [
      '--statsd without a port',
      ['run', join(SCENARIOS, 'untraced.ts'), ...load, '--statsd', 'localhost'],
      {},
      /--statsd must be host:port of a DogStatsD agent, e.g. 127.0.0.1:8125, received "localhost"/,
    ],
    [
      '--statsd with port 70000 on horde master',
      ['master', join(SCENARIOS, 'untraced.ts'), ...load, '--statsd', '127.0.0.1:70000'],
      {},
      /--statsd must be host:port .*received "127.0.0.1:70000"/,
    ],
    [
      'a bad DD_DOGSTATSD_PORT',
      ['worker', join(SCENARIOS, 'untraced.ts')],
      { DD_AGENT_HOST: '127.0.0.1', DD_DOGSTATSD_PORT: 'x' },
      /DD_DOGSTATSD_PORT must be a port number from 1 to 65535, received "x"/,
    ],
    [
      "the scenario's trace.sample 1.5",
      ['run', join(SCENARIOS, 'bad-trace-sample.ts'), ...load],
      {},
      /trace\.sample must be above 0 and at most 1 .*received 1\.5/,
    ],
  ]

  it.each(cases)('%s', async (_label, args, env, message) => {
    const { code, output } = await horde(args, env)
    expect(code, output).toBe(104)
    expect(output).toMatch(message)
  })
})
