import type { Verdict } from './result.js'

/** The verdict's words, the same on the console, in the report, the job summary and Slack. */
export const VERDICT_TEXT: Readonly<Record<Verdict, { label: string; summary: string }>> = {
  pass: {
    label: 'PASS',
    summary: 'The service held up: every threshold passed and the load generator was healthy.',
  },
  fail: { label: 'FAIL', summary: 'One or more thresholds failed.' },
  invalid: { label: 'INVALID', summary: 'The numbers cannot be trusted: the load generator was unhealthy.' },
  stopped: { label: 'STOPPED', summary: 'The run was stopped before it finished.' },
}
