import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import type { RunResult } from '../../src/shared/result.js'
import { SLACK_CHANNEL, SLACK_TOKEN, startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js'
import { runAction } from '../helpers/github-action.js'
import { startHorde, VOTE_SCENARIO } from '../helpers/horde-cli.js'
import { stopProcess, type TestProcess } from '../helpers/processes.js'

// A real short `horde run` (build first: npm test does) against a loopback target, then the bundled
// notify-slack on its result.json: the message's numbers are the target's own count.

let target: DemoTarget | undefined
let slack: FakeSlack | undefined
let run: TestProcess | undefined
let dir: string | undefined
afterEach(async () => {
  await stopProcess(run)
  await target?.close()
  await slack?.close()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

it('posts the verdict and the totals of a real run, equal to what the target served', async () => {
  dir = await mkdtemp(join(tmpdir(), 'horde-notify-run-'))
  target = await startDemoTarget()
  slack = await startFakeSlack()
  const out = join(dir, 'run')
  run = startHorde([
    'run',
    VOTE_SCENARIO,
    '-u',
    '2',
    '-r',
    '2',
    '-t',
    '3s',
    '-w',
    '1',
    '--host',
    target.url,
    '--out',
    out,
  ])
  const code = await run.exited
  expect([0, 99], run.output()).toContain(code)
  const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as RunResult
  expect(result.totals.requests).toBe(target.servedTotal())
  expect(result.totals.requests).toBeGreaterThan(0)

  const step = await runAction('notify-slack', {
    token: SLACK_TOKEN,
    channel: SLACK_CHANNEL,
    'slack-api-url': slack.url,
    result: join(out, 'result.json'),
    'report-url': 'https://storage.googleapis.com/acme-load/vote/index.html',
    'datadog-site': 'datadoghq.com',
  })
  expect(step.exitCode, step.log).toBe(0)
  expect(step.outputs.verdict).toBe(result.verdict)
  const [message, thread] = slack.messages
  const label = result.verdict.toUpperCase()
  expect(message?.text).toContain(
    `${label} · ${result.config.scenario} · ${target.servedTotal().toLocaleString('en-US')} requests`,
  )
  expect(JSON.stringify(message?.blocks)).toContain(encodeURIComponent(`@runId:${result.runId}`))
  expect(thread?.threadTs).toBe(message?.ts)
})
