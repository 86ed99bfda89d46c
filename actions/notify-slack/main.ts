import * as core from '@actions/core'
import { existsSync } from 'node:fs'
import {
  VERDICT_TEXT,
  createSlackClient,
  finishMessage,
  finishThread,
  loadRunResult,
  noResultMessage,
  startMessage,
  type SlackMessage,
  type SlackPosted,
  type SlackRunContext,
} from '../../report/index.js'
import { ExitCode, HordeError } from '../../src/shared/errors.js'
import type { RunResult } from '../../src/shared/result.js'
import { parseNotifyInputs, type NotifyInputs } from './inputs.js'

/**
 * notify-slack: one Block Kit message per run. `mode: start` posts "running" and outputs its ts; `mode:
 * finish` updates that message with the verdict (or posts one) and puts the details in its thread. Slack is
 * called last, after the result and report are stored, and a Slack failure never hides the verdict: the
 * step's error, its outputs and the job summary all carry it.
 */

function githubRunUrl(env: NodeJS.ProcessEnv): string | null {
  const {
    GITHUB_SERVER_URL: server,
    GITHUB_REPOSITORY: repo,
    GITHUB_RUN_ID: id,
    GITHUB_RUN_ATTEMPT: attempt,
  } = env
  if (!server || !repo || !id) return null
  return `${server}/${repo}/actions/runs/${id}${attempt ? `/attempts/${attempt}` : ''}`
}

function context(inputs: NotifyInputs, result: RunResult | null): SlackRunContext {
  return {
    runId: result?.runId ?? inputs.runId ?? process.env.GITHUB_RUN_ID ?? 'unknown',
    scenario: result?.config.scenario ?? inputs.scenario ?? 'unnamed scenario',
    users: inputs.users,
    pods: inputs.pods,
    targetRps: inputs.rps,
    durationMs: inputs.durationMs,
    reportUrl: inputs.reportUrl,
    githubRunUrl: githubRunUrl(process.env),
    datadog:
      inputs.datadogSite === null
        ? undefined
        : {
            site: inputs.datadogSite,
            ...(inputs.datadogService === null ? {} : { service: inputs.datadogService }),
            ...(inputs.datadogEnv === null ? {} : { env: inputs.datadogEnv }),
            ...(inputs.datadogDashboard === null ? {} : { dashboardId: inputs.datadogDashboard }),
          },
  }
}

/** A missing result is a message of its own (why there is none); an unreadable one says what is wrong. */
async function readResult(inputs: NotifyInputs): Promise<{ result: RunResult | null; reason: string }> {
  const fallback =
    inputs.reason ??
    'The run ended before its master wrote a result (an infrastructure failure or a cancelled run).'
  if (inputs.resultPath === null) return { result: null, reason: fallback }
  if (!existsSync(inputs.resultPath))
    return { result: null, reason: `${fallback} No file at ${inputs.resultPath}.` }
  try {
    return { result: await loadRunResult(inputs.resultPath), reason: '' }
  } catch (error) {
    return { result: null, reason: `${inputs.reason ? `${inputs.reason} ` : ''}${(error as Error).message}` }
  }
}

async function main(): Promise<void> {
  // Masked before anything else runs, so no later message (even a bad-input one) can show it.
  const rawToken = core.getInput('token')
  if (rawToken !== '') core.setSecret(rawToken)
  let inputs: NotifyInputs
  try {
    inputs = parseNotifyInputs((name) => core.getInput(name))
  } catch (error) {
    core.setFailed((error as Error).message)
    process.exitCode = ExitCode.invalidInput
    return
  }
  const slack = createSlackClient({
    token: inputs.token,
    apiUrl: inputs.slackApiUrl,
    onRateLimited: (method, s) =>
      core.warning(`Slack rate-limited ${method}; retrying after ${s} s (Retry-After)`),
  })

  if (inputs.mode === 'start') {
    const ctx = context(inputs, null)
    try {
      const posted = await slack.post(inputs.channel, startMessage(ctx, Date.now()))
      setPosted(posted)
      core.info(`posted "running" for ${ctx.scenario} run ${ctx.runId} (ts ${posted.ts})`)
    } catch (error) {
      await fail(
        error,
        `The "running" message for ${ctx.scenario} run ${ctx.runId} was not posted; the run goes on.`,
      )
    }
    return
  }

  const { result, reason } = await readResult(inputs)
  const ctx = context(inputs, result)
  // Outputs first: whatever Slack does next, later steps can read the verdict.
  const verdict = result?.verdict ?? 'none'
  core.setOutput('verdict', verdict)
  const headline =
    result === null
      ? `No result for ${ctx.scenario} run ${ctx.runId}: ${reason}`
      : `Verdict ${VERDICT_TEXT[result.verdict].label} for ${ctx.scenario} run ${ctx.runId}${ctx.reportUrl ? ` (report: ${ctx.reportUrl})` : ''}.`
  const message: SlackMessage =
    result === null ? noResultMessage(ctx, reason, Date.now()) : finishMessage(result, ctx)
  try {
    let posted: SlackPosted
    if (inputs.messageTs !== null) {
      const r = await slack.update(inputs.channel, inputs.messageTs, message)
      if (!r.updated) core.warning(`the "running" message ${inputs.messageTs} is gone; posted a new one`)
      posted = r
    } else {
      posted = await slack.post(inputs.channel, message)
    }
    setPosted(posted)
    if (result !== null) await slack.post(posted.channel, finishThread(result), posted.ts)
    core.info(`${headline} Posted to Slack (ts ${posted.ts}).`)
    await appendSummary(`Slack: ${headline} Posted to channel ${posted.channel}.\n`)
  } catch (error) {
    await fail(error, headline)
  }
}

function setPosted(posted: SlackPosted): void {
  core.setOutput('ts', posted.ts)
  core.setOutput('channel', posted.channel)
}

/** The Slack error first (what to fix), then what the run said, so a red step never reads as a red run. */
function fail(error: unknown, headline: string): Promise<void> {
  const what = error instanceof HordeError ? `${error.message} [${error.code}]` : String(error)
  core.setFailed(`${what} ${headline}`)
  return appendSummary(`Slack notification failed: ${what}\n\n${headline}\n`)
}

/** Outside Actions (no GITHUB_STEP_SUMMARY) there is no summary; a summary that cannot be written is a warning. */
async function appendSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  try {
    await core.summary.addRaw(markdown, true).write()
  } catch (error) {
    core.warning(`could not write the job summary: ${(error as Error).message}`)
  }
}

await main()
