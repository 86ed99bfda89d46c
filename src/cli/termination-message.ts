import { writeFile } from 'node:fs/promises'
import type { RunResult } from '../shared/result.js'

/** Kubernetes keeps at most 4096 bytes of a termination message; ours stays far below it. */
export const TERMINATION_MESSAGE_MAX_BYTES = 4096

export interface TerminationSummary {
  verdict: RunResult['verdict']
  exitCode: number
  runId: string
  scenario: string
  /** The first reasons only: a message is cut by the kubelet, a JSON cut in half is useless. */
  verdictReasons: string[]
  totals: { requests: number; failures: number; failureRate: number; rps: number; p95Ms: number | null }
  reportUrl: string | null
}

/**
 * The master's last word for whoever watches its Job: verdict, run id, headline totals and where the report
 * is, as one JSON object (`kubectl get pod -o jsonpath='{..state.terminated.message}'`), readable without logs
 * or storage access.
 */
export function terminationSummary(
  result: RunResult,
  exitCode: number,
  reportUrl: string | null,
): TerminationSummary {
  const reasons = result.verdictReasons.slice(0, 3).map((r) => (r.length > 200 ? `${r.slice(0, 197)}...` : r))
  const summary: TerminationSummary = {
    verdict: result.verdict,
    exitCode,
    runId: result.runId,
    scenario: result.config.scenario,
    verdictReasons: reasons,
    totals: {
      requests: result.totals.requests,
      failures: result.totals.failures,
      failureRate: result.totals.failureRate,
      rps: Math.round(result.totals.rps * 100) / 100,
      p95Ms: result.totals.p95Ms,
    },
    reportUrl,
  }
  if (Buffer.byteLength(JSON.stringify(summary)) > TERMINATION_MESSAGE_MAX_BYTES) summary.verdictReasons = []
  return summary
}

/** Writes the summary to the termination-log path; a failure is logged by the caller, never fatal. */
export async function writeTerminationMessage(path: string, summary: TerminationSummary): Promise<void> {
  await writeFile(path, JSON.stringify(summary))
}
