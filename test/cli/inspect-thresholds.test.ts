import { afterEach, describe, expect, it } from 'vitest'
import { REPO_ROOT, startHorde } from '../helpers/horde-cli.js'
import { stopProcess, type TestProcess } from '../helpers/processes.js'

const BAD = `${REPO_ROOT}test/scenarios/bad-threshold.ts`
const MESSAGE =
  /thresholds\.http_req_duration\.0 is not a valid threshold \(threshold "p\(95\)<<400" on http_req_duration is not an expression: write e\.g\. 'p\(95\)<400'/

describe('one threshold parser for inspect and run', () => {
  const started: TestProcess[] = []
  afterEach(async () => {
    for (const child of started.splice(0)) await stopProcess(child)
  })

  it('horde inspect rejects p(95)<<400 with the same message and exit code as horde run', async () => {
    const inspect = startHorde(['inspect', BAD])
    started.push(inspect)
    expect(await inspect.exited, inspect.output()).toBe(104)
    expect(inspect.output()).toMatch(MESSAGE)
    // Port 9 (discard) is never listened on here: a run that got as far as load would fail on the host instead.
    const run = startHorde(['run', BAD, '--users', '1', '--duration', '2s', '--host', 'http://127.0.0.1:9'])
    started.push(run)
    expect(await run.exited, run.output()).toBe(104)
    expect(run.output()).toMatch(MESSAGE)
  })
})
