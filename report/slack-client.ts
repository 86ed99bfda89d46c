import type { LogLevel, Logger, WebClient } from '@slack/web-api'
import { HordeError } from '../src/shared/errors.js'
import type { SlackMessage } from './slack-message.js'

/**
 * chat.postMessage / chat.update with the failures a person can act on turned into clear HordeErrors. Rate
 * limits are handled here rather than by the client's own retry loop, whose default waits up to ~30 minutes:
 * a notification step waits at most `maxRateLimitWaitMs` in all, and says so when Slack asks for longer.
 */
export interface SlackClientOptions {
  token: string
  /** Slack's is https://slack.com/api/; tests pass a loopback server. */
  apiUrl: string
  maxRateLimitWaitMs?: number
  /** Told before each wait, so the log shows why the step pauses. */
  onRateLimited?: (method: string, retryAfterS: number) => void
}

export interface SlackPosted {
  channel: string
  ts: string
}

export interface SlackClient {
  post(channel: string, message: SlackMessage, threadTs?: string): Promise<SlackPosted>
  /** Updates in place; posts a new message when the old one is gone (deleted, or another channel). */
  update(channel: string, ts: string, message: SlackMessage): Promise<SlackPosted & { updated: boolean }>
}

// The client logs through this; its warnings never include the token, but its errors are ours to word.
const quietLogger = (initial: LogLevel): Logger => {
  let level = initial
  const noop = (): void => {}
  return {
    debug: noop,
    info: noop,
    warn: noop,
    error: noop,
    setLevel: (l) => (level = l),
    getLevel: () => level,
    setName: noop,
  }
}

const AUTH_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
])
const GONE_ERRORS = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed'])

export function createSlackClient(options: SlackClientOptions): SlackClient {
  // @slack/web-api is a dependency of the actions only (bundled into their dist/): it is loaded on first use, so
  // the CLI, which imports report/index.ts in the production image (no dev dependencies), never needs it.
  let client: Promise<WebClient> | undefined
  const webClient = (): Promise<WebClient> =>
    (client ??= import('@slack/web-api').then(
      ({ WebClient, LogLevel }) =>
        new WebClient(options.token, {
          slackApiUrl: options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/`,
          // 5xx and connection failures: a few quick retries. 429s come back to us (rejectRateLimitedCalls).
          retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 1000 },
          rejectRateLimitedCalls: true,
          timeout: 15_000,
          logger: quietLogger(LogLevel.ERROR),
          logLevel: LogLevel.ERROR,
        }),
    ))
  const maxWaitMs = options.maxRateLimitWaitMs ?? 30_000

  async function call<T>(method: string, channel: string, send: () => Promise<T>): Promise<T> {
    let waitedMs = 0
    for (;;) {
      try {
        return await send()
      } catch (error) {
        const e = error as { code?: string; retryAfter?: number; data?: { error?: string } }
        if (e.code === 'slack_webapi_rate_limited_error') {
          const retryAfterS = e.retryAfter ?? 1
          if (waitedMs + retryAfterS * 1000 > maxWaitMs)
            throw new HordeError(
              'HORDE_ERR_SLACK_RATE_LIMITED',
              `Slack rate-limited ${method} (ratelimited) and asked to retry after ${retryAfterS} s (Retry-After), beyond the ${Math.round(maxWaitMs / 1000)} s this step waits${waitedMs > 0 ? ` (already waited ${Math.round(waitedMs / 1000)} s)` : ''}. Slack allows about one message per second per channel: post less often or to another channel.`,
              { cause: error },
            )
          options.onRateLimited?.(method, retryAfterS)
          await new Promise((r) => setTimeout(r, retryAfterS * 1000))
          waitedMs += retryAfterS * 1000
          continue
        }
        throw explain(method, channel, error)
      }
    }
  }

  return {
    async post(channel, message, threadTs) {
      const web = await webClient()
      const r = await call('chat.postMessage', channel, () =>
        web.chat.postMessage({
          channel,
          text: message.text,
          blocks: message.blocks,
          unfurl_links: false,
          ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
        }),
      )
      return { channel: r.channel ?? channel, ts: String(r.ts) }
    },
    async update(channel, ts, message) {
      const web = await webClient()
      try {
        const r = await call('chat.update', channel, () =>
          web.chat.update({ channel, ts, text: message.text, blocks: message.blocks }),
        )
        return { channel: r.channel ?? channel, ts: String(r.ts ?? ts), updated: true }
      } catch (error) {
        if (!(error instanceof HordeError && GONE_ERRORS.has(slackErrorOf(error.cause) ?? ''))) throw error
        return { ...(await this.post(channel, message)), updated: false }
      }
    },
  }
}

function slackErrorOf(error: unknown): string | undefined {
  return (error as { data?: { error?: string } } | undefined)?.data?.error
}

function explain(method: string, channel: string, error: unknown): HordeError {
  const e = error as { code?: string; message?: string; data?: { error?: string } }
  const slackError = slackErrorOf(error)
  if (e.code === 'slack_webapi_platform_error' && slackError !== undefined) {
    if (AUTH_ERRORS.has(slackError))
      return new HordeError(
        'HORDE_ERR_SLACK_AUTH',
        `Slack rejected the token for ${method} (${slackError}). Set the token input to a bot token (xoxb-...) of a Slack app installed in the workspace, with the chat:write scope.`,
        { cause: error },
      )
    if (slackError === 'channel_not_found' || slackError === 'not_in_channel')
      return new HordeError(
        'HORDE_ERR_SLACK_CHANNEL',
        `Slack cannot post to channel ${JSON.stringify(channel)} (${slackError}). Pass the channel's ID (C0123ABCD, from the channel's details) and invite the app to it with /invite @<app name>.`,
        { cause: error },
      )
    if (slackError === 'missing_scope')
      return new HordeError(
        'HORDE_ERR_SLACK_SCOPE',
        `Slack refused ${method} (missing_scope). Add the chat:write scope to the Slack app and reinstall it.`,
        { cause: error },
      )
    return new HordeError('HORDE_ERR_SLACK_API', `Slack refused ${method} (${slackError}).`, { cause: error })
  }
  return new HordeError(
    'HORDE_ERR_SLACK_UNREACHABLE',
    `Slack did not answer ${method} (${e.code ?? 'error'}: ${e.message ?? String(error)}). Check that the runner can reach the Slack API URL.`,
    { cause: error },
  )
}
