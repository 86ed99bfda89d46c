import type { RunResult } from '../src/shared/result.js'
import { compareRuns, endpointKey, type Comparison, type Delta } from './compare.js'
import { formatCount, formatDelta, formatMs, formatPercent, formatRate, formatTime } from './format.js'
import { VERDICT_TEXT, formatObserved } from './view.js'
import { datadogLinks, type DatadogOptions } from './links.js'
import { dbJobSummaryLines } from './db-job-summary.js'

/**
 * The GitHub job summary (GITHUB_STEP_SUMMARY is GitHub-flavoured Markdown that also renders HTML): the
 * report's headline — verdict, thresholds, top endpoints — for the action to append. Run text is escaped so
 * that markup stays text, a `|` cannot break a table and an `@name` cannot ping anyone.
 */
export interface JobSummaryOptions {
  baseline?: RunResult
  baselineChosenBy?: Comparison['chosenBy']
  /** Link to the full HTML report. */
  reportUrl?: string
  /** How many endpoints to list, busiest first. Default 10. */
  topEndpoints?: number
  /** Datadog links (logs, traces, dashboard) on this run's id and window. */
  datadog?: DatadogOptions
}

const ICON = { pass: '✅', fail: '❌', invalid: '⚠️', stopped: '⏹️' } as const

export function mdText(text: string): string {
  // Markdown escapes first, then entities (whose own & and # must stay unescaped).
  return text
    .replace(/[\r\n\u2028\u2029]+/g, ' ')
    .replace(/([\\`*_[\]|~#!])/g, '\\$1')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@/g, '&#64;')
}

function withDelta(value: string, d: Delta | undefined): string {
  if (d === undefined || d.ratio === null) return value
  const text = formatDelta(d.ratio)
  return `${value} (${d.regression ? '🔺 ' : ''}${text})`
}

export function renderJobSummary(result: RunResult, options: JobSummaryOptions = {}): string {
  const cmp =
    options.baseline === undefined
      ? undefined
      : compareRuns(result, options.baseline, options.baselineChosenBy ?? 'previous-pass')
  const t = result.totals
  const v = VERDICT_TEXT[result.verdict]
  const lines: string[] = []
  lines.push(`## ${ICON[result.verdict]} ${v.label} — ${mdText(result.config.scenario)}`, '')
  for (const reason of result.verdictReasons) lines.push(`- ${mdText(reason)}`)
  if (result.verdictReasons.length === 0) lines.push(v.summary)
  lines.push('')
  const load =
    result.config.targetRps !== null
      ? `${formatRate(result.config.targetRps)} req/s target`
      : `${formatCount(result.config.users)} users`
  lines.push(
    `${load} · ${result.config.workers} workers · started ${formatTime(result.startedAtMs)} · run \`${mdText(result.runId).replace(/`/g, '')}\``,
    '',
  )
  const dd = datadogLinks(result, options.datadog)
  const ddLinks: string[] = []
  for (const [label, url] of [
    ['logs', dd.logs],
    ['traces', dd.traces],
    ['dashboard', dd.dashboard],
  ] as Array<[string, string | null]>) {
    if (url !== null) ddLinks.push(`[${label}](${url})`)
  }
  if (ddLinks.length > 0) lines.push(`Datadog: ${ddLinks.join(' · ')}`, '')
  lines.push('| Requests | req/s | Failures | p50 | p95 | p99 |', '|---:|---:|---:|---:|---:|---:|')
  lines.push(
    `| ${formatCount(t.requests)} | ${withDelta(formatRate(t.rps), cmp?.headline.rps)} | ${formatPercent(t.failureRate)} | ${withDelta(formatMs(t.p50Ms), cmp?.headline.p50)} | ${withDelta(formatMs(t.p95Ms), cmp?.headline.p95)} | ${withDelta(formatMs(t.p99Ms), cmp?.headline.p99)} |`,
    '',
  )
  const om = result.openModel
  if (om !== undefined && om !== null) {
    lines.push(
      `Open model: ${formatRate(om.achievedRps)} of ${formatRate(om.targetRps)} iterations/s achieved, ${formatCount(om.droppedIterations)} dropped; p99 from the intended start (coordinated omission corrected) ${formatMs(om.correctedLatency.p99Ms)}, p95 ${formatMs(om.correctedLatency.p95Ms)}.`,
      '',
    )
  }

  if (result.thresholds.length > 0) {
    lines.push('### Thresholds', '', '| | Metric | Condition | Observed |', '|---|---|---|---:|')
    for (const th of result.thresholds) {
      lines.push(
        `| ${th.ok ? '✅' : '❌'} | ${mdText(th.metric)} | ${mdText(th.expression)}${th.isDefault === true ? ' (default: none declared)' : ''} | ${formatObserved(th.metric, th.expression, th.observed)} |`,
      )
    }
    lines.push('')
  }

  const top = [...result.endpoints]
    .sort((a, b) => b.requests - a.requests)
    .slice(0, options.topEndpoints ?? 10)
  if (top.length > 0) {
    lines.push(
      `### Top endpoints${result.endpoints.length > top.length ? ` (${top.length} of ${result.endpoints.length})` : ''}`,
      '',
    )
    lines.push(
      `| Method | Name | Requests | Failures | Median | p95 |${cmp ? ' Δ p95 |' : ''} req/s |`,
      `|---|---|---:|---:|---:|---:|${cmp ? '---:|' : ''}---:|`,
    )
    for (const e of top) {
      const d = cmp?.endpoints.get(endpointKey(e))
      const delta = cmp
        ? ` ${d === undefined || d.isNew ? 'new' : `${d.p95.regression ? '🔺 ' : ''}${formatDelta(d.p95.ratio)}`} |`
        : ''
      lines.push(
        `| ${mdText(e.method)} | ${mdText(e.name)} | ${formatCount(e.requests)} | ${formatCount(e.failures)} | ${formatMs(e.p50Ms)} | ${formatMs(e.p95Ms)} |${delta} ${formatRate(e.rps)} |`,
      )
    }
    lines.push('')
  }

  lines.push(...dbJobSummaryLines(result, mdText))

  if (cmp !== undefined) {
    const how = cmp.chosenBy === 'explicit' ? 'the requested baseline' : 'the previous passing run'
    lines.push(
      `Compared with ${how} \`${mdText(cmp.baselineRunId).replace(/`/g, '')}\` (${formatTime(cmp.baselineStartedAtMs)}): ${cmp.regressions.length === 0 ? 'no regressions beyond 10 %.' : `**${cmp.regressions.length} regression${cmp.regressions.length === 1 ? '' : 's'}**`}`,
    )
    for (const r of cmp.regressions.slice(0, 10)) lines.push(`- ${mdText(r)}`)
    lines.push('')
  }
  if (options.reportUrl !== undefined)
    lines.push(
      `[Open the full report](${options.reportUrl.replace(/[()\s<>]/g, (c) => encodeURIComponent(c))})`,
      '',
    )
  return lines.join('\n')
}
