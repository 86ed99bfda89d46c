import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/shared/logger.js'
import { isSecretName, redactSecrets, redactUrlCredentials } from '../../src/shared/redact.js'

describe('redaction: one module for logs, result.json, report and console', () => {
  it('hides user:password in every URL of a string, and nothing else', () => {
    expect(redactUrlCredentials('http://alice:s3cret@127.0.0.1:8080/x')).toBe(
      'http://[redacted]@127.0.0.1:8080/x',
    )
    expect(redactUrlCredentials('see https://a:b@h/ and postgres://u:p@db:5432/app')).toBe(
      'see https://[redacted]@h/ and postgres://[redacted]@db:5432/app',
    )
    expect(redactUrlCredentials('http://h/p?q=a@b and mail x@y')).toBe('http://h/p?q=a@b and mail x@y')
  })

  it('matches secret names case-insensitively', () => {
    for (const name of [
      'Authorization',
      'authorization',
      'PROXY-AUTHORIZATION',
      'Cookie',
      'X-Api-Key',
      'x-session-token',
      'clientSecret',
      'DB_PASSWORD',
      'apiKey',
    ]) {
      expect(isSecretName(name), name).toBe(true)
    }
    for (const name of ['host', 'users', 'content-type', 'message', 'runId'])
      expect(isSecretName(name), name).toBe(false)
  })

  it('copies objects with secret fields replaced at any depth, leaving the input alone', () => {
    const input = {
      req: { headers: { Authorization: 'Bearer abc', 'X-Api-Key': 'k1', accept: 'json' } },
      url: 'http://u:p@h/',
    }
    expect(redactSecrets(input)).toEqual({
      req: { headers: { Authorization: '[redacted]', 'X-Api-Key': '[redacted]', accept: 'json' } },
      url: 'http://[redacted]@h/',
    })
    expect(input.req.headers.Authorization).toBe('Bearer abc')
  })

  it('the logger redacts headers in any case, URL credentials in fields, messages and errors', async () => {
    const stream = new PassThrough()
    let text = ''
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()))
    const log = createLogger({ role: 'worker', destination: stream, level: 'info' })
    log.info(
      {
        headers: { Authorization: 'Bearer tok-1', 'x-api-key': 'key-2', Cookie: 'sid=cookie-3' },
        nested: { config: { 'Proxy-Authorization': 'Basic pa-4', sessionToken: 'tok-5' } },
        host: 'http://alice:pw-6@127.0.0.1:1/',
      },
      'cannot reach http://bob:pw-7@127.0.0.1:2/',
    )
    log.error({ err: new Error('fetch http://carol:pw-8@127.0.0.1:3/ failed') }, 'request failed')
    await new Promise((resolve) => setImmediate(resolve))
    for (const secret of ['tok-1', 'key-2', 'cookie-3', 'pa-4', 'tok-5', 'pw-6', 'pw-7', 'pw-8']) {
      expect(text, secret).not.toContain(secret)
    }
    expect(text).toContain('http://[redacted]@127.0.0.1:1/')
    expect(text).toContain('cannot reach http://[redacted]@127.0.0.1:2/')
    expect(text).toContain('fetch http://[redacted]@127.0.0.1:3/ failed')
    expect(text.split('\n').filter(Boolean)).toHaveLength(2)
  })
})
