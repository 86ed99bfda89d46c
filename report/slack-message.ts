import type { RunResult, Verdict } from '../src/shared/result.js'
import { formatCount, formatDuration, formatMs, formatPercent, formatRate, formatTime } from './format.js'
import { datadogLinks, safeHref, type DatadogOptions } from './links.js'
import { VERDICT_TEXT, formatObserved } from './view.js'

/**
 * The Slack message of one run, as Block Kit: one message per run ("running", then updated in place with the
 * verdict) plus the details in its thread. Pure data, so tests read what Slack would show without Slack.
 * Everything taken from a run is escaped: a scenario or endpoint name must not become a mention or a link.
 */

/** The Block Kit subset we send (https://api.slack.com/reference/block-kit/blocks). */
export type SlackText = { type: 'mrkdwn' | 'plain_text'; text: string; emoji?: boolean }
export type SlackButton = {
  type: 'button'
  text: SlackText
  url: string
  action_id: string
  style?: 'primary'
}
export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'actions'; elements: SlackButton[] }
  | { type: 'divider' }

export interface SlackMessage {
  /** The notification and screen-reader text; Slack shows it where blocks cannot be shown. Slack reads it as
   * mrkdwn too, so it is escaped like the blocks (a mention in a scenario name would notify the channel). */
  text: string
  blocks: SlackBlock[]
}

/** What is known of a run besides its result.json (or instead of it, before and when there is none). */
export interface SlackRunContext {
  runId: string
  scenario: string
  users: number | null
  pods: number | null
  targetRps: number | null
  durationMs: number | null
  reportUrl: string | null
  githubRunUrl: string | null
  datadog: DatadogOptions | undefined
}

// Slack's limits: header 150 characters, a section's text 3000, a field 2000, a button's text 75, 50 blocks.
const HEADER_MAX = 150
const SECTION_MAX = 3000
const FIELD_MAX = 2000

const EMOJI: Record<Verdict, string> = {
  pass: ':white_check_mark:',
  fail: ':x:',
  invalid: ':warning:',
  stopped: ':octagonal_sign:',
}

/** Slack's mrkdwn needs only these three escaped; without them `<!channel>` or `<url|label>` would be live. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

const mrkdwn = (text: string, max = SECTION_MAX): SlackText => ({ type: 'mrkdwn', text: clip(text, max) })
const plain = (text: string, max: number): SlackText => ({
  type: 'plain_text',
  text: clip(text, max),
  emoji: true,
})
const field = (label: string, value: string): SlackText => mrkdwn(`*${label}*\n${value}`, FIELD_MAX)

function loadShape(users: number | null, pods: number | null, targetRps: number | null): string {
  const parts = [
    users === null ? 'users —' : `${formatCount(users)} users`,
    pods === null ? 'pods —' : `${formatCount(pods)} ${pods === 1 ? 'pod' : 'pods'}`,
  ]
  if (targetRps !== null) parts.push(`target ${formatRate(targetRps)}/s`)
  return parts.join(' · ')
}

function buttons(links: Array<[label: string, url: string | null, id: string]>): SlackBlock[] {
  const elements: SlackButton[] = []
  for (const [label, url, id] of links) {
    const href = url === null ? null : safeHref(url)
    // Slack rejects the whole message (invalid_blocks) for a button whose URL is not http(s) or too long.
    if (href !== null && href.length <= 3000)
      elements.push({ type: 'button', text: plain(label, 75), url: href, action_id: id })
  }
  if (elements[0] !== undefined) elements[0].style = 'primary'
  return elements.length === 0 ? [] : [{ type: 'actions', elements }]
}

function liveWindow(ctx: SlackRunContext, fromMs: number) {
  // Before the result exists the window is the planned one; Datadog's own margin covers clock skew.
  return datadogLinks(
    { runId: ctx.runId, startedAtMs: fromMs, endedAtMs: fromMs + (ctx.durationMs ?? 3_600_000) },
    ctx.datadog,
  )
}

/** `mode: start`: the run is starting. Updated in place by the finish message. */
export function startMessage(ctx: SlackRunContext, nowMs: number): SlackMessage {
  const dd = liveWindow(ctx, nowMs)
  const scenario = slackEscape(ctx.scenario)
  return {
    text: slackEscape(`RUNNING · ${ctx.scenario} · run ${ctx.runId}`),
    blocks: [
      { type: 'header', text: plain(`:hourglass_flowing_sand: RUNNING · ${ctx.scenario}`, HEADER_MAX) },
      {
        type: 'section',
        fields: [
          field('Scenario', scenario),
          field('Run', `\`${slackEscape(ctx.runId)}\``),
          field('Load', loadShape(ctx.users, ctx.pods, ctx.targetRps)),
          field('Duration', ctx.durationMs === null ? '—' : formatDuration(ctx.durationMs)),
        ],
      },
      {
        type: 'context',
        elements: [mrkdwn(`Started ${formatTime(nowMs)}. The verdict replaces this message.`)],
      },
      ...buttons([
        ['GitHub run', ctx.githubRunUrl, 'github_run'],
        ['Datadog logs', dd.logs, 'datadog_logs'],
        ['Datadog traces', dd.traces, 'datadog_traces'],
        ['Datadog dashboard', dd.dashboard, 'datadog_dashboard'],
      ]),
    ],
  }
}

function failedThresholdLines(result: RunResult): string[] {
  return result.thresholds
    .filter((t) => !t.ok)
    .map(
      (t) =>
        `• \`${slackEscape(t.metric)}\` ${slackEscape(t.expression)}: observed ${formatObserved(t.metric, t.expression, t.observed)}`,
    )
}

/** `mode: finish` with a result: the verdict first, the headline numbers, links. Details go in the thread. */
export function finishMessage(result: RunResult, ctx: SlackRunContext): SlackMessage {
  const verdict = VERDICT_TEXT[result.verdict]
  const c = result.config
  const t = result.totals
  const dd = datadogLinks(result, ctx.datadog)
  const why =
    result.verdict === 'fail'
      ? failedThresholdLines(result)
      : result.verdictReasons.map((r) => `• ${slackEscape(r)}`)
  const blocks: SlackBlock[] = [
    { type: 'header', text: plain(`${EMOJI[result.verdict]} ${verdict.label} · ${c.scenario}`, HEADER_MAX) },
    { type: 'section', text: mrkdwn(`*${verdict.label}*: ${slackEscape(verdict.summary)}`) },
  ]
  if (why.length > 0) {
    const shown = why.slice(0, 5)
    if (why.length > shown.length) shown.push(`… and ${why.length - shown.length} more in the thread`)
    blocks.push({ type: 'section', text: mrkdwn(shown.join('\n')) })
  }
  blocks.push(
    {
      type: 'section',
      fields: [
        field('Scenario', slackEscape(c.scenario)),
        // What ran (the result) wins over what was asked (the inputs).
        field('Load', loadShape(c.users ?? ctx.users, c.workers, c.targetRps ?? ctx.targetRps)),
        field('Duration', formatDuration(result.endedAtMs - result.startedAtMs)),
        field('Requests', `${formatCount(t.requests)} (${formatRate(t.rps)}/s)`),
        field('Failures', `${formatPercent(t.failureRate)} (${formatCount(t.failures)})`),
        field('p95 · p99', `${formatMs(t.p95Ms)} · ${formatMs(t.p99Ms)}`),
      ],
    },
    {
      type: 'context',
      elements: [
        mrkdwn(
          `Run \`${slackEscape(result.runId)}\` · ${formatTime(result.startedAtMs)} → ${formatTime(result.endedAtMs)}`,
        ),
      ],
    },
    ...buttons([
      ['Report', ctx.reportUrl, 'report'],
      ['Datadog logs', dd.logs, 'datadog_logs'],
      ['Datadog traces', dd.traces, 'datadog_traces'],
      ['Datadog dashboard', dd.dashboard, 'datadog_dashboard'],
      ['GitHub run', ctx.githubRunUrl, 'github_run'],
    ]),
  )
  const numbers = `${formatCount(t.requests)} requests, ${formatRate(t.rps)}/s, ${formatPercent(t.failureRate)} failed, p95 ${formatMs(t.p95Ms)}, p99 ${formatMs(t.p99Ms)}`
  return { text: slackEscape(`${verdict.label} · ${c.scenario} · ${numbers}`), blocks }
}

/** The thread reply: every reason and threshold, the busiest endpoints and the commonest errors. */
export function finishThread(result: RunResult): SlackMessage {
  const verdict = VERDICT_TEXT[result.verdict]
  const blocks: SlackBlock[] = []
  const reasons = result.verdictReasons.map((r) => `• ${slackEscape(r)}`)
  blocks.push({
    type: 'section',
    text: mrkdwn(
      `*Verdict: ${verdict.label}*\n${reasons.length > 0 ? reasons.join('\n') : slackEscape(verdict.summary)}`,
    ),
  })
  if (result.thresholds.length > 0) {
    const lines = result.thresholds.map(
      (t) =>
        `${t.ok ? ':white_check_mark:' : ':x:'} \`${slackEscape(t.metric)}\` ${slackEscape(t.expression)} → ${formatObserved(t.metric, t.expression, t.observed)}`,
    )
    blocks.push({ type: 'section', text: mrkdwn(`*Thresholds*\n${lines.join('\n')}`) })
  }
  const endpoints = [...result.endpoints].sort((a, b) => b.requests - a.requests).slice(0, 10)
  if (endpoints.length > 0) {
    const lines = endpoints.map(
      (e) =>
        `\`${slackEscape(`${e.method} ${e.name}`)}\` ${formatCount(e.requests)} req, ${formatCount(e.failures)} failed, p95 ${formatMs(e.p95Ms)}, p99 ${formatMs(e.p99Ms)}`,
    )
    const more = result.endpoints.length - endpoints.length
    blocks.push({
      type: 'section',
      text: mrkdwn(
        `*Busiest endpoints*\n${lines.join('\n')}${more > 0 ? `\n… ${more} more in the report` : ''}`,
      ),
    })
  }
  const errors = [...result.errors].sort((a, b) => b.occurrences - a.occurrences).slice(0, 5)
  if (errors.length > 0) {
    const lines = errors.map(
      (e) =>
        `• ${formatCount(e.occurrences)}× \`${slackEscape(`${e.method} ${e.name}`)}\` ${slackEscape(clip(e.error, 200))}`,
    )
    blocks.push({ type: 'section', text: mrkdwn(`*Errors*\n${lines.join('\n')}`) })
  }
  return {
    text: slackEscape(`Details of ${result.config.scenario} run ${result.runId}: ${verdict.label}`),
    blocks,
  }
}

/** There is no result.json: the run never started, its infrastructure failed, or it was cancelled. */
export function noResultMessage(ctx: SlackRunContext, reason: string, nowMs: number): SlackMessage {
  const dd = liveWindow(ctx, nowMs - (ctx.durationMs ?? 3_600_000))
  return {
    text: slackEscape(`NO RESULT · ${ctx.scenario} · ${reason}`),
    blocks: [
      { type: 'header', text: plain(`:grey_question: NO RESULT · ${ctx.scenario}`, HEADER_MAX) },
      {
        type: 'section',
        text: mrkdwn(`*No verdict*: the run left no result. ${slackEscape(reason)}`),
      },
      {
        type: 'section',
        fields: [
          field('Scenario', slackEscape(ctx.scenario)),
          field('Run', `\`${slackEscape(ctx.runId)}\``),
          field('Load', loadShape(ctx.users, ctx.pods, ctx.targetRps)),
        ],
      },
      ...buttons([
        ['GitHub run', ctx.githubRunUrl, 'github_run'],
        ['Datadog logs', dd.logs, 'datadog_logs'],
        ['Report', ctx.reportUrl, 'report'],
      ]),
    ],
  }
}
