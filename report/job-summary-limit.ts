import type { RunResult } from '../src/shared/result.js'
import { renderJobSummary, type JobSummaryOptions } from './job-summary.js'

/**
 * GitHub refuses a step summary over 1 MiB (and shows none at all). A run with thousands of endpoints,
 * thresholds or verdict reasons, or very long endpoint names, must still get one: the summary is rendered
 * again with less detail until it fits — failed thresholds first, fewer endpoints, names shortened — with a
 * note and the link to the full report. The last resort cuts the text at a character boundary.
 */
export const JOB_SUMMARY_MAX_BYTES = 1024 * 1024

interface Level {
  reasons: number
  thresholds: number
  endpoints: number
  nameChars: number
}

const LEVELS: Level[] = [
  { reasons: 50, thresholds: 100, endpoints: 10, nameChars: 500 },
  { reasons: 10, thresholds: 20, endpoints: 5, nameChars: 120 },
  { reasons: 3, thresholds: 5, endpoints: 3, nameChars: 60 },
]

const cut = (text: string, chars: number): string =>
  text.length > chars ? `${text.slice(0, chars - 1)}…` : text

function trimmed(result: RunResult, level: Level): RunResult {
  // Failed thresholds are what a reader needs; passing ones are what can go.
  const thresholds = [...result.thresholds]
    .sort((a, b) => Number(a.ok) - Number(b.ok))
    .slice(0, level.thresholds)
    .map((t) => ({
      ...t,
      metric: cut(t.metric, level.nameChars),
      expression: cut(t.expression, level.nameChars),
    }))
  const endpoints = [...result.endpoints]
    .sort((a, b) => b.requests - a.requests)
    .slice(0, level.endpoints)
    .map((e) => ({ ...e, name: cut(e.name, level.nameChars) }))
  return {
    ...result,
    verdictReasons: result.verdictReasons.slice(0, level.reasons).map((r) => cut(r, level.nameChars * 2)),
    thresholds,
    endpoints,
    config: { ...result.config, scenario: cut(result.config.scenario, level.nameChars) },
  }
}

function note(result: RunResult, level: Level, reportUrl: string | undefined): string {
  const link =
    reportUrl === undefined
      ? 'the full report'
      : `[the full report](${reportUrl.replace(/[()\s<>]/g, encodeURIComponent)})`
  return `\n> Shortened to fit GitHub's 1 MiB job summary (${result.endpoints.length} endpoints, ${result.thresholds.length} thresholds, ${result.verdictReasons.length} reasons; at most ${level.endpoints} endpoints and ${level.thresholds} thresholds shown). Everything is in ${link}.\n`
}

export function boundedJobSummary(
  result: RunResult,
  options: JobSummaryOptions = {},
  maxBytes: number = JOB_SUMMARY_MAX_BYTES,
): string {
  const full = renderJobSummary(result, options)
  if (Buffer.byteLength(full) <= maxBytes) return full
  let last = full
  for (const level of LEVELS) {
    const text =
      renderJobSummary(trimmed(result, level), { ...options, topEndpoints: level.endpoints }) +
      note(result, level, options.reportUrl)
    if (Buffer.byteLength(text) <= maxBytes) return text
    last = text
  }
  const tail = note(result, LEVELS[LEVELS.length - 1] as Level, options.reportUrl)
  let body = last.slice(0, maxBytes - Buffer.byteLength(tail) - 16)
  while (Buffer.byteLength(body) > maxBytes - Buffer.byteLength(tail) - 16) body = body.slice(0, -1024)
  return `${body}\n…\n${tail}`
}
