import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import { crossOriginRefusal } from './same-origin.js'

/**
 * Who may talk to the control API, checked before any route. It stops load, so a web page a person happens to
 * open must not be able to drive it:
 * - DNS rebinding: a page on evil.example re-resolves its name to 127.0.0.1 and calls us with
 *   `Host: evil.example`. Only IP literals, localhost, the bound address and configured names are accepted.
 * - Cross-origin requests (CSRF): a browser says where a request comes from; one from another origin is
 *   refused (same-origin.ts says how, also behind a path-prefix proxy). POSTs need
 *   `Content-Type: application/json`, which a browser cannot send cross-origin without a preflight we never
 *   answer.
 * - Bodies are small JSON; anything larger is refused with 413 without reading it all.
 */

/** Control bodies are a few fields; 4 KiB is far more than any of them needs. */
export const MAX_BODY_BYTES = 4096
/** A sane ceiling per worker: beyond it one Node process only measures its own queueing. */
export const MAX_USERS_PER_WORKER = 20_000
export const MAX_RPS_PER_WORKER = 50_000

export interface GuardRefusal {
  status: number
  error: string
}

export class BodyTooLargeError extends Error {}

function hostnameOf(hostHeader: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hostHeader)
  if (bracketed !== null) return (bracketed[1] as string).toLowerCase()
  return hostHeader.replace(/:\d+$/, '').toLowerCase()
}

/** True for names and addresses that stay on this machine. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, '').toLowerCase()
  return name === 'localhost' || name === '::1' || (isIP(name) === 4 && name.startsWith('127.'))
}

export function checkRequest(
  req: IncomingMessage,
  bindHost: string,
  allowedHosts: readonly string[],
): GuardRefusal | null {
  const hostHeader = req.headers.host
  if (hostHeader === undefined || hostHeader === '') {
    return { status: 400, error: 'a Host header is required' }
  }
  const name = hostnameOf(hostHeader)
  const allowed =
    isIP(name) !== 0 ||
    name === 'localhost' ||
    name === bindHost.toLowerCase() ||
    allowedHosts.some((h) => h.toLowerCase() === name)
  if (!allowed) {
    return {
      status: 403,
      error: `Host ${JSON.stringify(hostHeader)} is not this master's address: call it by IP or localhost, or add the name to --api-allowed-hosts (HORDE_API_ALLOWED_HOSTS)`,
    }
  }
  const crossOrigin = crossOriginRefusal(req)
  if (crossOrigin !== null) return { status: 403, error: crossOrigin }
  if (req.method === 'POST') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
    if (type !== 'application/json') {
      return {
        status: 415,
        error: `POST needs Content-Type: application/json, received ${JSON.stringify(req.headers['content-type'] ?? 'none')}`,
      }
    }
    const length = Number(req.headers['content-length'] ?? '0')
    if (length > MAX_BODY_BYTES) {
      return {
        status: 413,
        error: `the body is ${length} bytes; the control API takes at most ${MAX_BODY_BYTES}`,
      }
    }
  }
  return null
}

/** Reads a body of at most `limit` bytes; a chunked body that grows past it throws BodyTooLargeError. */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buffer = chunk as Buffer
    size += buffer.length
    if (size > limit) throw new BodyTooLargeError(`the body exceeds ${limit} bytes`)
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
