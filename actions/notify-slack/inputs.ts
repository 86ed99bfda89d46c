import { z } from 'zod'
import { parseDurationMs } from '../../src/shared/duration.js'
import { ConfigError, describeValue } from '../../src/shared/errors.js'

/**
 * The action's inputs are a trust boundary: typed by hand into a workflow, or filled from other steps'
 * outputs. Every problem is reported with the input's name, the value received and the fix, before Slack
 * is called. The token's value is never described.
 */
export interface NotifyInputs {
  mode: 'start' | 'finish'
  token: string
  channel: string
  slackApiUrl: string
  resultPath: string | null
  reportUrl: string | null
  messageTs: string | null
  datadogSite: string | null
  datadogService: string | null
  datadogEnv: string | null
  datadogDashboard: string | null
  runId: string | null
  scenario: string | null
  users: number | null
  pods: number | null
  rps: number | null
  durationMs: number | null
  reason: string | null
}

const httpUrl = (fix: string) =>
  z.string().refine((v) => /^https?:\/\/[^\s]+$/.test(v) && URL.canParse(v), { message: fix })
const count = z
  .string()
  .regex(/^[1-9][0-9]{0,8}$/, { message: 'must be a positive whole number, e.g. 50' })
  .transform(Number)

const schema = z.object({
  mode: z.enum(['start', 'finish'], {
    message: "must be 'start' (post \"running\") or 'finish' (post the verdict)",
  }),
  token: z
    .string()
    .min(1, { message: 'is empty: pass the Slack bot token, e.g. ${{ secrets.SLACK_BOT_TOKEN }}' }),
  channel: z
    .string()
    .regex(/^[#@]?[A-Za-z0-9._-]{1,80}$/, { message: "must be a channel ID like C0123ABCD (or '#name')" }),
  'slack-api-url': httpUrl("must be an http(s) URL; leave it unset for Slack's https://slack.com/api/"),
  result: z.string().nullable(),
  'report-url': httpUrl('must be an http(s) URL of the stored report, or empty').nullable(),
  'message-ts': z
    .string()
    .regex(/^[0-9]+\.[0-9]+$/, {
      message: "must be a Slack message ts like 1700000000.000100 (the start step's ts output)",
    })
    .nullable(),
  'datadog-site': z
    .string()
    .regex(/^(https?:\/\/)?[a-z0-9.-]+\.[a-z]{2,}\/?$/, {
      message: 'must be a Datadog site like datadoghq.com or datadoghq.eu',
    })
    .nullable(),
  'datadog-service': z.string().max(200).nullable(),
  'datadog-env': z.string().max(200).nullable(),
  'datadog-dashboard': z
    .string()
    .regex(/^[a-z0-9]{3}-[a-z0-9]{3}-[a-z0-9]{3}$/, {
      message:
        'must be a Datadog dashboard id like abc-def-ghi (the id printed when manifests/datadog/dashboard.json is imported)',
    })
    .nullable(),
  'run-id': z.string().max(200).nullable(),
  scenario: z.string().max(200).nullable(),
  users: count.nullable(),
  pods: count.nullable(),
  rps: z
    .string()
    .regex(/^[0-9]+(\.[0-9]+)?$/, { message: 'must be a number of requests per second, e.g. 300' })
    .transform(Number)
    .nullable(),
  duration: z
    .string()
    .refine((v) => (parseDurationMs(v) ?? 0) > 0, { message: "must be a duration like '90s', '10m' or '1h'" })
    .nullable(),
  reason: z.string().max(2000).nullable(),
})

/** `get(name)` returns the input's trimmed value, '' when unset (as @actions/core's getInput does). */
export function parseNotifyInputs(get: (name: string) => string): NotifyInputs {
  const raw: Record<string, string | null> = {}
  for (const name of Object.keys(schema.shape)) {
    const value = get(name).trim()
    raw[name] = value === '' ? null : value
  }
  raw.mode ??= 'finish'
  raw['slack-api-url'] ??= 'https://slack.com/api/'
  raw.token ??= ''
  raw.channel ??= ''
  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const name = String(issue?.path[0] ?? 'inputs')
    const shown =
      name === 'token' ? (raw.token === '' ? 'nothing' : '[hidden]') : describeValue(raw[name] ?? undefined)
    throw new ConfigError(
      'HORDE_ERR_ACTION_INPUT',
      `input ${name} ${issue?.message ?? 'is invalid'}, received ${shown}.`,
    )
  }
  const v = parsed.data
  return Object.freeze({
    mode: v.mode,
    token: v.token,
    channel: v.channel,
    slackApiUrl: v['slack-api-url'],
    resultPath: v.result,
    reportUrl: v['report-url'],
    messageTs: v['message-ts'],
    datadogSite: v['datadog-site'],
    datadogService: v['datadog-service'],
    datadogEnv: v['datadog-env'],
    datadogDashboard: v['datadog-dashboard'],
    runId: v['run-id'],
    scenario: v.scenario,
    users: v.users,
    pods: v.pods,
    rps: v.rps,
    durationMs: v.duration === null ? null : (parseDurationMs(v.duration) ?? null),
    reason: v.reason,
  })
}
