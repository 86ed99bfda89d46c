import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderJobSummary } from '../../report/job-summary.js'
import type { DatadogOptions } from '../../report/links.js'
import { renderReport } from '../../report/render.js'
import { finishMessage, startMessage } from '../../report/slack-message.js'
import { SLACK_CHANNEL, SLACK_TOKEN, startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js'
import { runAction } from '../helpers/github-action.js'
import { makeRunResult } from '../helpers/run-result-fixture.js'

const DD: DatadogOptions = {
  site: 'datadoghq.eu',
  service: 'horde',
  env: 'loadtest',
  dashboardId: 'abc-123-xyz',
}
const result = makeRunResult({ runId: 'run-dd-1', seed: 3, durationS: 90 })
// Datadog's search window: the run's own start and end with one minute either side (clocks, straggling logs).
const FROM = result.startedAtMs - 60_000
const TO = result.endedAtMs + 60_000

/** Handlebars escapes `=` and `&` in attributes: undo it to read the URL. */
function unescapeHtml(text: string): string {
  return text.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&')
}

function expectOnThisRun(href: string): void {
  const url = new URL(unescapeHtml(href))
  expect(url.host).toBe('app.datadoghq.eu')
  if (url.pathname === '/logs') {
    expect(url.searchParams.get('query')).toBe('@runId:run-dd-1 service:horde env:loadtest')
    expect([url.searchParams.get('from_ts'), url.searchParams.get('to_ts')]).toEqual([`${FROM}`, `${TO}`])
  } else if (url.pathname === '/apm/traces') {
    expect(url.searchParams.get('query')).toMatch(/^@horde\.run_id:run-dd-1 service:horde env:loadtest/)
    expect([url.searchParams.get('start'), url.searchParams.get('end')]).toEqual([`${FROM}`, `${TO}`])
  } else {
    expect(url.pathname).toBe('/dashboard/abc-123-xyz')
    expect(url.searchParams.get('tpl_var_run_id')).toBe('run-dd-1')
    expect([url.searchParams.get('from_ts'), url.searchParams.get('to_ts')]).toEqual([`${FROM}`, `${TO}`])
  }
}

function datadogHrefs(text: string): string[] {
  return [...text.matchAll(/https:\/\/app\.datadoghq\.eu\/[^\s")<>]+/g)].map((m) => m[0])
}

describe('Datadog links land on this run: its id and its window, in report, job summary and Slack', () => {
  it('the report links logs, traces and the dashboard, and each endpoint to its traces', () => {
    const html = renderReport(result, { datadog: DD })
    const hrefs = datadogHrefs(html)
    const paths = new Set(hrefs.map((h) => new URL(unescapeHtml(h)).pathname))
    expect(paths).toEqual(new Set(['/logs', '/apm/traces', '/dashboard/abc-123-xyz']))
    for (const href of hrefs) expectOnThisRun(href)
    const endpointQueries = hrefs
      .map((h) => new URL(unescapeHtml(h)).searchParams.get('query') ?? '')
      .filter((q) => q.includes('resource_name:'))
    expect(endpointQueries.length).toBeGreaterThanOrEqual(result.endpoints.length)
  })

  it('the job summary has the three links; none without a Datadog site', () => {
    const summary = renderJobSummary(result, { datadog: DD })
    const line = summary.split('\n').find((l) => l.startsWith('Datadog: ')) ?? ''
    expect(line).toMatch(/^Datadog: \[logs\]\(.+\) · \[traces\]\(.+\) · \[dashboard\]\(.+\)$/)
    const hrefs = datadogHrefs(line.replace(/\)/g, ' '))
    expect(hrefs).toHaveLength(3)
    for (const href of hrefs) expectOnThisRun(href)
    expect(renderJobSummary(result)).not.toContain('datadoghq')
  })

  it('the Slack messages carry buttons to the three; a bad dashboard id gives no dashboard button', () => {
    const ctx = {
      runId: result.runId,
      scenario: result.config.scenario,
      users: 10,
      pods: 2,
      targetRps: null,
      durationMs: 90_000,
      reportUrl: 'https://example.com/r/index.html',
      githubRunUrl: null,
      datadog: DD,
    }
    const finish = JSON.stringify(finishMessage(result, ctx).blocks)
    const hrefs = datadogHrefs(finish)
    expect(hrefs).toHaveLength(3)
    for (const href of hrefs) expectOnThisRun(href)
    expect(finish).toContain('"action_id":"datadog_dashboard"')
    const started = JSON.stringify(startMessage(ctx, result.startedAtMs).blocks)
    expect(started).toContain('/dashboard/abc-123-xyz?tpl_var_run_id=run-dd-1')
    const bad = JSON.stringify(
      finishMessage(result, { ...ctx, datadog: { ...DD, dashboardId: 'x"><b>' } }).blocks,
    )
    expect(bad).not.toContain('datadog_dashboard')
  })
})

describe('notify-slack with datadog-dashboard (bundled entry point)', () => {
  let dir: string
  let slack: FakeSlack
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'horde-dd-links-'))
    slack = await startFakeSlack()
  })
  afterAll(async () => {
    await slack.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('adds the dashboard button on the run; a malformed id is refused naming the input', async () => {
    const file = join(dir, 'result.json')
    await writeFile(file, JSON.stringify(result))
    const inputs = {
      token: SLACK_TOKEN,
      channel: SLACK_CHANNEL,
      'slack-api-url': slack.url,
      result: file,
      'datadog-site': 'datadoghq.eu',
      'datadog-service': 'horde',
      'datadog-env': 'loadtest',
    }
    const run = await runAction('notify-slack', { ...inputs, 'datadog-dashboard': 'abc-123-xyz' })
    expect(run.exitCode, run.log).toBe(0)
    const hrefs = datadogHrefs(JSON.stringify(slack.messages[0]?.blocks))
    expect(hrefs.map((h) => new URL(h).pathname)).toEqual(['/logs', '/apm/traces', '/dashboard/abc-123-xyz'])
    for (const href of hrefs) expectOnThisRun(href)

    const bad = await runAction('notify-slack', { ...inputs, 'datadog-dashboard': 'My Dashboard' })
    expect(bad.exitCode).not.toBe(0)
    expect(bad.log).toMatch(
      /input datadog-dashboard must be a Datadog dashboard id like abc-def-ghi.*received "My Dashboard"/,
    )
  })
})
