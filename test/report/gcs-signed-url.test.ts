import { createHash, createVerify, generateKeyPairSync } from 'node:crypto'
import net from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { gcsStore } from '../../report/store/gcs.js'

/**
 * `--signed-url` without Google: a service-account key made here signs the URL locally (V4, RSA-SHA256), and
 * the test checks the signature against the public key by rebuilding the string-to-sign from the spec
 * (https://cloud.google.com/storage/docs/authentication/signatures). Any connection the client tries to
 * open is refused and counted: signing must not need the network.
 */
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const clientEmail = 'horde-reports@horde-test.iam.gserviceaccount.com'

const attempted: string[] = []
const socketConnect = Object.getOwnPropertyDescriptor(net.Socket.prototype, 'connect')!
let emulatorHost: string | undefined

beforeEach(() => {
  emulatorHost = process.env.STORAGE_EMULATOR_HOST
  delete process.env.STORAGE_EMULATOR_HOST
  Object.defineProperty(net.Socket.prototype, 'connect', {
    ...socketConnect,
    value(this: net.Socket, ...args: unknown[]) {
      attempted.push(JSON.stringify(args[0]))
      this.destroy(new Error('network disabled in this test'))
      return this
    },
  })
})

afterEach(() => {
  Object.defineProperty(net.Socket.prototype, 'connect', socketConnect)
  if (emulatorHost !== undefined) process.env.STORAGE_EMULATOR_HOST = emulatorHost
})

/** RFC 3986 encoding as the V4 canonical query string wants it. */
const encode = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

describe('GCS signed report URLs (--signed-url)', () => {
  it('are V4 URLs for the object, valid for the TTL, signed with the service account key', async () => {
    // The guard sees connections (a loopback one here): an empty list below means none was tried.
    net.connect({ host: '127.0.0.1', port: 9 }).on('error', () => {})
    expect(attempted).toHaveLength(1)
    attempted.length = 0
    const store = gcsStore('gs://horde-reports/team-a', {
      signedUrlTtlMs: 2 * 3600 * 1000,
      storageOptions: {
        projectId: 'horde-test',
        credentials: {
          client_email: clientEmail,
          private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        },
      },
    })
    const signed = new URL(await store.url('checkout/run-1/index.html'))

    expect(attempted).toEqual([])
    expect(signed.origin).toBe('https://storage.googleapis.com')
    expect(signed.pathname).toBe('/horde-reports/team-a/checkout/run-1/index.html')
    const q = signed.searchParams
    expect(q.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256')
    expect(q.get('X-Goog-Expires')).toBe('7200')
    expect(q.get('X-Goog-SignedHeaders')).toBe('host')
    const credential = q.get('X-Goog-Credential') ?? ''
    expect(credential).toMatch(new RegExp(`^${clientEmail}/\\d{8}/auto/storage/goog4_request$`))
    const date = q.get('X-Goog-Date') ?? ''
    expect(
      Math.abs(
        Date.parse(date.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z')) -
          Date.now(),
      ),
    ).toBeLessThan(60_000)

    const canonicalQuery = [...q.entries()]
      .filter(([k]) => k !== 'X-Goog-Signature')
      .map(([k, v]) => `${encode(k)}=${encode(v)}`)
      .sort()
      .join('&')
    const scope = credential.slice(clientEmail.length + 1)
    const stringToSign = (path: string): string => {
      const canonicalRequest = [
        'GET',
        path,
        canonicalQuery,
        'host:storage.googleapis.com',
        '',
        'host',
        'UNSIGNED-PAYLOAD',
      ].join('\n')
      const hash = createHash('sha256').update(canonicalRequest).digest('hex')
      return ['GOOG4-RSA-SHA256', date, scope, hash].join('\n')
    }
    const verifies = (path: string): boolean =>
      createVerify('RSA-SHA256').update(stringToSign(path)).verify(publicKey, signature)
    const signature = Buffer.from(q.get('X-Goog-Signature') ?? '', 'hex')
    expect(signature.length).toBe(256)
    expect(verifies(signed.pathname)).toBe(true)
    // The same signature does not open another object: the check above can fail.
    expect(verifies('/horde-reports/team-a/checkout/run-2/index.html')).toBe(false)
  })
})
