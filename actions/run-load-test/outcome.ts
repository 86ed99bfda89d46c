import { z } from 'zod'
import { mdText } from '../../report/index.js'
import { ExitCode } from '../../src/shared/errors.js'
import type { Verdict } from './inputs.js'

/**
 * How a run ended, as the action reports it: the verdict and its reasons, the exit code, the master's
 * headline numbers and report URL when it left its termination message. The message comes from a pod, so it
 * is parsed (zod) rather than trusted.
 */
export interface Outcome {
  verdict: Verdict
  exitCode: number
  reasons: string[]
  scenario: string | null
  reportUrl: string | null
  totals: {
    requests: number
    failures: number
    failureRate: number
    rps: number
    p95Ms: number | null
  } | null
}

const summarySchema = z.object({
  verdict: z.enum(['pass', 'fail', 'invalid', 'stopped']),
  exitCode: z.number().int(),
  runId: z.string(),
  scenario: z.string(),
  verdictReasons: z.array(z.string()),
  totals: z.object({
    requests: z.number(),
    failures: z.number(),
    failureRate: z.number(),
    rps: z.number(),
    p95Ms: z.number().nullable(),
  }),
  reportUrl: z.string().nullable(),
})

export const EXIT_CODES: Record<Verdict, number> = {
  pass: ExitCode.pass,
  fail: ExitCode.thresholdsFailed,
  stopped: ExitCode.stopped,
  invalid: ExitCode.invalidRun,
}

/** The master's termination message → its outcome; anything else (a crash's log tail) → invalid, saying so. */
export function outcomeFromMaster(exitCode: number, message: string): Outcome {
  let parsed: z.infer<typeof summarySchema> | null = null
  try {
    const r = summarySchema.safeParse(JSON.parse(message))
    if (r.success) parsed = r.data
  } catch {
    parsed = null
  }
  if (parsed === null) {
    const tail = message.trim().split('\n').slice(-5).join(' | ').slice(-600)
    return infrastructureOutcome(
      `the master exited with code ${exitCode} without a verdict${tail === '' ? '' : `: ${tail}`}`,
    )
  }
  return {
    verdict: parsed.verdict,
    exitCode: parsed.exitCode,
    reasons: parsed.verdictReasons,
    scenario: parsed.scenario,
    reportUrl: parsed.reportUrl,
    totals: parsed.totals,
  }
}

export function infrastructureOutcome(reason: string): Outcome {
  return {
    verdict: 'invalid',
    exitCode: ExitCode.invalidRun,
    reasons: [reason],
    scenario: null,
    reportUrl: null,
    totals: null,
  }
}

const ICON: Record<Verdict, string> = { pass: '✅', fail: '❌', invalid: '⚠️', stopped: '⏹️' }

/** The job summary when there is no result.json to render the full one from. */
export function shortSummary(outcome: Outcome, scenario: string, runId: string): string {
  const lines = [
    `## ${ICON[outcome.verdict]} ${outcome.verdict.toUpperCase()} — ${mdText(outcome.scenario ?? scenario)}`,
    '',
  ]
  for (const r of outcome.reasons) lines.push(`- ${mdText(r)}`)
  lines.push('', `Run \`${mdText(runId).replace(/`/g, '')}\`.`)
  const t = outcome.totals
  if (t !== null)
    lines.push(
      '',
      '| Requests | req/s | Failures | p95 |',
      '|---:|---:|---:|---:|',
      `| ${t.requests} | ${t.rps} | ${(t.failureRate * 100).toFixed(2)} % | ${t.p95Ms === null ? '—' : `${Math.round(t.p95Ms)} ms`} |`,
    )
  if (outcome.reportUrl !== null)
    lines.push('', `[Open the full report](${outcome.reportUrl.replace(/[()\s<>]/g, encodeURIComponent)})`)
  return `${lines.join('\n')}\n`
}
