import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { RunResult } from '../../src/shared/result.js'
import { SLACK_CHANNEL, SLACK_TOKEN, startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js'
import { runAction, type ActionRun } from '../helpers/github-action.js'
import { makeRunResult } from '../helpers/run-result-fixture.js'

// The real bundled entry point (actions/notify-slack/dist/index.js) against a loopback Slack Web API.

const REPORT_URL = 'https://storage.googleapis.com/acme-load/checkout-flow/run-7/index.html'
let dir: string
let slack: FakeSlack

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'horde-notify-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})
beforeEach(async () => {
  slack = await startFakeSlack()
})
afterEach(async () => {
  await slack.close()
})

async function resultFile(result: RunResult, name = `${result.runId}.json`): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, JSON.stringify(result))
  return path
}

const failing = (): RunResult =>
  makeRunResult({ runId: 'run-7', seed: 7, durationS: 120, latencyFactor: 4, incidents: false })

function base(extra: Record<string, string> = {}): Record<string, string> {
  return { token: SLACK_TOKEN, channel: SLACK_CHANNEL, 'slack-api-url': slack.url, ...extra }
}

type Block = {
  type: string
  text?: { text: string }
  fields?: Array<{ text: string }>
  elements?: Array<{ text: { text: string }; url?: string }>
}
const texts = (blocks: unknown[]): string =>
  (blocks as Block[])
    .flatMap((b) => [
      b.text?.text ?? '',
      ...(b.fields ?? []).map((f) => f.text),
      ...(b.elements ?? []).map((e) => e.text.text),
    ])
    .join('\n')
const buttons = (blocks: unknown[]): Record<string, string> =>
  Object.fromEntries(
    (blocks as Block[])
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements ?? [])
      .map((e) => [e.text.text, e.url ?? '']),
  )

/** The token may only appear in the runner's own ::add-mask:: command (the runner hides it from then on). */
function expectTokenHidden(run: ActionRun): void {
  const leaks = run.log.split('\n').filter((l) => l.includes(SLACK_TOKEN) && !l.startsWith('::add-mask::'))
  expect(leaks).toEqual([])
  expect(run.summary).not.toContain(SLACK_TOKEN)
  expect(JSON.stringify(run.outputs)).not.toContain(SLACK_TOKEN)
}

describe('notify-slack (bundled entry point)', () => {
  it('finish without a start message: one message with verdict first, numbers and links, details in its thread', async () => {
    const result = failing()
    expect(result.verdict).toBe('fail')
    const run = await runAction('notify-slack', {
      ...base(),
      result: await resultFile(result),
      'report-url': REPORT_URL,
      'datadog-site': 'datadoghq.eu',
      'datadog-service': 'horde-worker',
      pods: '2',
    })
    expect(run.exitCode, run.log).toBe(0)
    expect(slack.requests.map((r) => r.method)).toEqual(['chat.postMessage', 'chat.postMessage'])
    expect(slack.requests.every((r) => r.authorization === `Bearer ${SLACK_TOKEN}`)).toBe(true)
    expect(slack.requests[0]?.contentType).toMatch(/application\/x-www-form-urlencoded/)

    const [main, thread] = slack.messages
    expect(main?.threadTs).toBeUndefined()
    expect(thread?.threadTs).toBe(main?.ts)
    const blocks = main?.blocks as Block[]
    expect(blocks[0]?.type).toBe('header')
    expect(blocks[0]?.text?.text).toBe(':x: FAIL · checkout-flow')
    expect(main?.text).toMatch(/^FAIL · checkout-flow · [\d,]+ requests/)
    const body = texts(main?.blocks ?? [])
    const t = result.totals
    expect(body).toContain(`${t.requests.toLocaleString('en-US')}`)
    expect(body).toContain('50 users · 2 pods')
    expect(body).toMatch(/\*p95 · p99\*\n\S+ (ms|s) · \S+ (ms|s)/)
    expect(body).toContain('`http_req_duration` p(95)&lt;400: observed')

    const links = buttons(main?.blocks ?? [])
    expect(Object.keys(links)).toEqual(['Report', 'Datadog logs', 'Datadog traces', 'GitHub run'])
    expect(links.Report).toBe(REPORT_URL)
    expect(links['GitHub run']).toBe('https://github.com/acme/shop/actions/runs/9876543210/attempts/2')
    // This run id and its exact window (Datadog's one-minute margin either side).
    const logs = new URL(links['Datadog logs'] ?? '')
    expect(logs.host).toBe('app.datadoghq.eu')
    expect(logs.searchParams.get('query')).toBe('@runId:run-7 service:horde-worker')
    expect(Number(logs.searchParams.get('from_ts'))).toBe(result.startedAtMs - 60_000)
    expect(Number(logs.searchParams.get('to_ts'))).toBe(result.endedAtMs + 60_000)
    const traces = new URL(links['Datadog traces'] ?? '')
    expect(traces.pathname).toBe('/apm/traces')
    expect(traces.searchParams.get('query')).toBe('@horde.run_id:run-7 service:horde-worker')
    expect(Number(traces.searchParams.get('start'))).toBe(result.startedAtMs - 60_000)

    const details = texts(thread?.blocks ?? [])
    expect(details.indexOf('*Verdict: FAIL*')).toBe(0)
    expect(details).toContain('*Thresholds*')
    expect(details).toContain('*Busiest endpoints*')

    expect(run.outputs).toMatchObject({ verdict: 'fail', ts: main?.ts, channel: SLACK_CHANNEL })
    expect(run.summary).toContain('Verdict FAIL for checkout-flow run run-7')
    expectTokenHidden(run)
  })

  it('start then finish: the "running" message is updated in place, details go in its thread', async () => {
    const result = makeRunResult({
      runId: 'run-8',
      seed: 8,
      durationS: 60,
      latencyFactor: 0.5,
      incidents: false,
    })
    expect(result.verdict).toBe('pass')
    const start = await runAction('notify-slack', {
      ...base({
        mode: 'start',
        scenario: 'checkout-flow',
        'run-id': 'run-8',
        users: '50',
        pods: '3',
        duration: '1m',
      }),
      'datadog-site': 'datadoghq.com',
    })
    expect(start.exitCode, start.log).toBe(0)
    expect(slack.messages).toHaveLength(1)
    const running = slack.messages[0]
    expect((running?.blocks as Block[])[0]?.text?.text).toBe(
      ':hourglass_flowing_sand: RUNNING · checkout-flow',
    )
    expect(texts(running?.blocks ?? [])).toContain('50 users · 3 pods')
    expect(Object.keys(buttons(running?.blocks ?? []))).toEqual([
      'GitHub run',
      'Datadog logs',
      'Datadog traces',
    ])
    expect(start.outputs.ts).toBe(running?.ts)

    const finish = await runAction('notify-slack', {
      ...base({ 'message-ts': start.outputs.ts ?? '', channel: start.outputs.channel ?? '' }),
      result: await resultFile(result),
      'report-url': REPORT_URL,
    })
    expect(finish.exitCode, finish.log).toBe(0)
    expect(slack.requests.map((r) => r.method)).toEqual([
      'chat.postMessage',
      'chat.update',
      'chat.postMessage',
    ])
    const topLevel = slack.messages.filter((m) => m.threadTs === undefined)
    expect(topLevel).toHaveLength(1)
    expect(topLevel[0]?.updates).toBe(1)
    expect((topLevel[0]?.blocks as Block[])[0]?.text?.text).toBe(':white_check_mark: PASS · checkout-flow')
    expect(slack.messages[1]?.threadTs).toBe(running?.ts)
    expect(finish.outputs).toMatchObject({ verdict: 'pass', ts: running?.ts })
  })

  it('the start message is gone: finish posts a new one and says so', async () => {
    const run = await runAction('notify-slack', {
      ...base({ 'message-ts': '1764000999.000001' }),
      result: await resultFile(failing()),
    })
    expect(run.exitCode, run.log).toBe(0)
    expect(slack.requests.map((r) => r.method)).toEqual([
      'chat.update',
      'chat.postMessage',
      'chat.postMessage',
    ])
    expect(run.log).toContain('::warning::the "running" message 1764000999.000001 is gone; posted a new one')
  })

  it('no result (infrastructure failure or cancelled run): posts why, with the run links', async () => {
    const run = await runAction('notify-slack', {
      ...base({ scenario: 'checkout-flow', 'run-id': 'run-9', users: '40', pods: '4' }),
      result: join(dir, 'missing', 'result.json'),
      reason: 'The run job ended with status cancelled.',
      'datadog-site': 'datadoghq.com',
    })
    expect(run.exitCode, run.log).toBe(0)
    expect(slack.messages).toHaveLength(1)
    const body = texts(slack.messages[0]?.blocks ?? [])
    expect((slack.messages[0]?.blocks as Block[])[0]?.text?.text).toBe(
      ':grey_question: NO RESULT · checkout-flow',
    )
    expect(body).toContain('The run job ended with status cancelled.')
    expect(body).toContain('No file at')
    expect(body).toContain('40 users · 4 pods')
    expect(
      new URL(buttons(slack.messages[0]?.blocks ?? [])['Datadog logs'] ?? '').searchParams.get('query'),
    ).toBe('@runId:run-9')
    expect(run.outputs.verdict).toBe('none')
  })

  it('an unreadable result.json is a no-result message naming the problem', async () => {
    const path = join(dir, 'broken.json')
    await writeFile(path, '{"schemaVersion": 1, "runId": ')
    const run = await runAction('notify-slack', { ...base({ scenario: 'checkout-flow' }), result: path })
    expect(run.exitCode, run.log).toBe(0)
    expect(texts(slack.messages[0]?.blocks ?? [])).toContain('is not valid JSON')
  })

  it('escapes everything from the run: no mention, link or markup can be injected', async () => {
    const result = makeRunResult({
      runId: 'run-10',
      seed: 10,
      durationS: 60,
      malicious: true,
      latencyFactor: 4,
    })
    result.verdictReasons.push('<!channel> <https://evil.example|click> & more')
    const run = await runAction('notify-slack', { ...base(), result: await resultFile(result) })
    expect(run.exitCode, run.log).toBe(0)
    for (const message of slack.messages) {
      expect(message.text).not.toMatch(/<[!@#]|<https?:|<script|<b>/)
      const body = texts(message.blocks)
      expect(body).not.toMatch(/<[!@#]|<https?:/)
      expect(body).not.toContain('<script')
    }
    expect(texts(slack.messages[1]?.blocks ?? [])).toContain(
      '&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; more',
    )
  })

  it('invalid_auth: a clear step error that still states the verdict; outputs and summary keep it', async () => {
    const run = await runAction('notify-slack', {
      ...base({ token: 'xoxb-9999-wrong-token' }),
      result: await resultFile(failing()),
      'report-url': REPORT_URL,
    })
    expect(run.exitCode).toBe(1)
    expect(run.log).toMatch(
      /::error::Slack rejected the token for chat.postMessage \(invalid_auth\)\. Set the token input to a bot token .*\[HORDE_ERR_SLACK_AUTH\] Verdict FAIL for checkout-flow run run-7 \(report: https:/,
    )
    expect(run.outputs.verdict).toBe('fail')
    expect(run.summary).toContain('Slack notification failed')
    expect(run.summary).toContain('Verdict FAIL for checkout-flow run run-7')
    expect(
      run.log.split('\n').filter((l) => l.includes('xoxb-9999-wrong-token') && !l.startsWith('::add-mask::')),
    ).toEqual([])
  })

  it('channel_not_found: names the channel and the fix', async () => {
    const run = await runAction('notify-slack', {
      ...base({ channel: 'C0NOPE' }),
      result: await resultFile(failing()),
    })
    expect(run.exitCode).toBe(1)
    expect(run.log).toContain(
      'Slack cannot post to channel "C0NOPE" (channel_not_found). Pass the channel\'s ID (C0123ABCD, from the channel\'s details) and invite the app to it',
    )
    expect(run.log).toContain('Verdict FAIL for checkout-flow run run-7')
    expectTokenHidden(run)
  })

  it('rate limited once: waits Retry-After, says so, and posts', async () => {
    slack.fail('chat.postMessage', { rateLimitedS: 1 })
    const run = await runAction('notify-slack', { ...base(), result: await resultFile(failing()) })
    expect(run.exitCode, run.log).toBe(0)
    expect(run.log).toContain(
      '::warning::Slack rate-limited chat.postMessage; retrying after 1 s (Retry-After)',
    )
    expect(slack.requests.map((r) => r.method)).toEqual([
      'chat.postMessage',
      'chat.postMessage',
      'chat.postMessage',
    ])
    expect(slack.messages).toHaveLength(2)
  })

  it('rate limited for longer than the step waits: fails at once with the Retry-After and the verdict', async () => {
    slack.failAlways('chat.postMessage', { rateLimitedS: 120 })
    const run = await runAction('notify-slack', { ...base(), result: await resultFile(failing()) })
    expect(run.exitCode).toBe(1)
    expect(run.log).toMatch(
      /::error::Slack rate-limited chat.postMessage \(ratelimited\) and asked to retry after 120 s \(Retry-After\), beyond the 30 s this step waits\..*Verdict FAIL/,
    )
    expect(slack.requests).toHaveLength(1)
  })

  it('Slack unreachable: a step error naming it, with the verdict', async () => {
    const url = slack.url
    await slack.close()
    const run = await runAction('notify-slack', {
      ...base({ 'slack-api-url': url }),
      result: await resultFile(failing()),
    })
    expect(run.exitCode).toBe(1)
    expect(run.log).toMatch(
      /::error::Slack did not answer chat.postMessage .*\[HORDE_ERR_SLACK_UNREACHABLE\] Verdict FAIL/,
    )
    slack = await startFakeSlack() // afterEach closes it
  })

  it.each([
    [
      { mode: 'begin' },
      `input mode must be 'start' (post "running") or 'finish' (post the verdict), received "begin".`,
    ],
    [{ token: '' }, 'input token is empty: pass the Slack bot token'],
    [
      { channel: 'general channel' },
      `input channel must be a channel ID like C0123ABCD (or '#name'), received "general channel".`,
    ],
    [
      { 'report-url': 'javascript:alert(1)' },
      'input report-url must be an http(s) URL of the stored report, or empty, received "javascript:alert(1)".',
    ],
    [{ 'message-ts': 'yesterday' }, 'input message-ts must be a Slack message ts like 1700000000.000100'],
    [{ users: '-3' }, 'input users must be a positive whole number, e.g. 50, received "-3".'],
    [
      { duration: 'ten minutes' },
      `input duration must be a duration like '90s', '10m' or '1h', received "ten minutes".`,
    ],
    [{ 'datadog-site': 'not a site' }, 'input datadog-site must be a Datadog site like datadoghq.com'],
  ])('bad input %j fails with exit 104 before calling Slack', async (bad, message) => {
    const run = await runAction('notify-slack', { ...base(), ...bad })
    expect(run.exitCode).toBe(104)
    expect(run.log).toContain(`::error::${message}`)
    expect(slack.requests).toHaveLength(0)
    expectTokenHidden(run)
  })
})
