import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A loopback Slack Web API that answers chat.postMessage and chat.update as Slack does: form-encoded bodies
 * with `blocks` as a JSON string, `Authorization: Bearer`, HTTP 200 with `{ok:false,error}` for platform
 * errors (invalid_auth, channel_not_found, message_not_found, invalid_blocks), and HTTP 429 with Retry-After
 * for rate limits. It keeps the channel's messages so a test reads what people would see.
 */
export interface SlackRequest {
  method: string
  authorization: string | undefined
  contentType: string | undefined
  form: Record<string, string>
  blocks: unknown[] | undefined
}

export interface SlackStoredMessage {
  channel: string
  ts: string
  threadTs: string | undefined
  text: string
  blocks: unknown[]
  /** How many times chat.update replaced it. */
  updates: number
}

/** A scripted answer for the next call of a method, instead of the normal one. */
export type SlackFault = { rateLimitedS: number } | { error: string } | { status: number }

export interface FakeSlack {
  /** Base URL for slack-api-url, ending in /api/. */
  url: string
  requests: SlackRequest[]
  messages: SlackStoredMessage[]
  /** Queue faults for a method (e.g. 'chat.postMessage'); each is used once, in order. */
  fail(method: string, ...faults: SlackFault[]): void
  /** Answer every call of a method with this fault until cleared. */
  failAlways(method: string, fault: SlackFault | null): void
  close(): Promise<void>
}

export const SLACK_TOKEN = 'xoxb-1111-2222-horde-test-token'
export const SLACK_CHANNEL = 'C0HORDE01'

// A few of Slack's own Block Kit checks, so a message Slack would reject fails here too.
function blocksProblem(blocks: unknown): string | null {
  if (!Array.isArray(blocks)) return 'blocks is not an array'
  if (blocks.length > 50) return 'more than 50 blocks'
  for (const b of blocks as Array<Record<string, unknown>>) {
    const text = b.text as { text?: string } | undefined
    if (b.type === 'header' && (text?.text?.length ?? 0) > 150) return 'header text over 150 characters'
    if (b.type === 'section' && (text?.text?.length ?? 0) > 3000) return 'section text over 3000 characters'
    if (b.type === 'section' && Array.isArray(b.fields) && b.fields.length > 10) return 'more than 10 fields'
    if (b.type === 'actions')
      for (const e of b.elements as Array<{ url?: string; text?: { text?: string } }>) {
        if (e.url !== undefined && !/^https?:\/\//.test(e.url)) return `button url ${e.url} is not http(s)`
        if ((e.text?.text?.length ?? 0) > 75) return 'button text over 75 characters'
      }
  }
  return null
}

export async function startFakeSlack(
  options: { token?: string; channels?: string[] } = {},
): Promise<FakeSlack> {
  const token = options.token ?? SLACK_TOKEN
  const channels = new Set(options.channels ?? [SLACK_CHANNEL])
  const requests: SlackRequest[] = []
  const messages: SlackStoredMessage[] = []
  const queued = new Map<string, SlackFault[]>()
  const always = new Map<string, SlackFault>()
  let seq = 0

  const json = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    res.end(JSON.stringify(body))
  }

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? ''
    const form = Object.fromEntries(new URLSearchParams(body))
    let blocks: unknown[] | undefined
    try {
      blocks = form.blocks === undefined ? undefined : (JSON.parse(form.blocks) as unknown[])
    } catch {
      return json(res, 200, { ok: false, error: 'invalid_blocks_format' })
    }
    requests.push({
      method,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      form,
      blocks,
    })
    const fault = queued.get(method)?.shift() ?? always.get(method)
    if (fault !== undefined) {
      if ('rateLimitedS' in fault)
        return json(
          res,
          429,
          { ok: false, error: 'ratelimited' },
          { 'retry-after': String(fault.rateLimitedS) },
        )
      if ('status' in fault) return json(res, fault.status, { ok: false, error: 'internal_error' })
      return json(res, 200, { ok: false, error: fault.error })
    }
    if (req.headers.authorization !== `Bearer ${token}`)
      return json(res, 200, { ok: false, error: 'invalid_auth' })
    const channel = form.channel ?? ''
    if (!channels.has(channel)) return json(res, 200, { ok: false, error: 'channel_not_found' })
    if (blocks !== undefined) {
      const problem = blocksProblem(blocks)
      if (problem !== null) return json(res, 200, { ok: false, error: 'invalid_blocks', errors: [problem] })
    }
    if (method === 'chat.postMessage') {
      if (
        form.thread_ts !== undefined &&
        !messages.some((m) => m.ts === form.thread_ts && m.channel === channel)
      )
        return json(res, 200, { ok: false, error: 'thread_not_found' })
      seq += 1
      const ts = `${1_764_000_000 + seq}.${String(seq).padStart(6, '0')}`
      const message = {
        channel,
        ts,
        threadTs: form.thread_ts,
        text: form.text ?? '',
        blocks: blocks ?? [],
        updates: 0,
      }
      messages.push(message)
      return json(res, 200, {
        ok: true,
        channel,
        ts,
        message: { type: 'message', user: 'U0HORDEBOT', text: message.text, ts, blocks: message.blocks },
      })
    }
    if (method === 'chat.update') {
      const message = messages.find((m) => m.ts === form.ts && m.channel === channel)
      if (message === undefined) return json(res, 200, { ok: false, error: 'message_not_found' })
      message.text = form.text ?? ''
      message.blocks = blocks ?? []
      message.updates += 1
      return json(res, 200, {
        ok: true,
        channel,
        ts: message.ts,
        text: message.text,
        message: { text: message.text },
      })
    }
    return json(res, 200, { ok: false, error: 'unknown_method' })
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/api/`,
    requests,
    messages,
    fail: (method, ...faults) => queued.set(method, [...(queued.get(method) ?? []), ...faults]),
    failAlways: (method, fault) => (fault === null ? always.delete(method) : always.set(method, fault)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
