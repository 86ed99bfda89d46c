import { Storage, type StorageOptions } from '@google-cloud/storage'
import { ConfigError } from '../../src/shared/errors.js'
import { defaultPutOptions, type PutOptions, type Store } from './store.js'

export interface GcsStoreOptions {
  /** When set, url() returns a V4 signed URL valid this long instead of the public URL. */
  signedUrlTtlMs?: number
  /** Retries per request for transient failures (default 3). A failed upload never loses the run. */
  maxRetries?: number
  /** Passed to the client; tests set nothing and point STORAGE_EMULATOR_HOST at the emulator. */
  storageOptions?: StorageOptions
}

export function parseGcsUrl(spec: string): { bucket: string; prefix: string } {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(?:\/(.*))?$/.exec(spec)
  if (m === null || m[1] === undefined) {
    throw new ConfigError(
      'HORDE_ERR_REPORT_STORE',
      `--store must be a folder or gs://bucket/prefix, received ${JSON.stringify(spec)}. Bucket names are lowercase letters, digits, dots, dashes and underscores.`,
    )
  }
  return { bucket: m[1], prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') }
}

/**
 * A bucket (and optional prefix) in Google Cloud Storage. Uploads set Content-Type and Cache-Control so a
 * report opens in the browser rather than downloading, and indexes are never served stale.
 */
export function gcsStore(spec: string, options: GcsStoreOptions = {}): Store {
  const { bucket: bucketName, prefix } = parseGcsUrl(spec)
  const maxRetries = options.maxRetries ?? 3
  const storage = new Storage({
    retryOptions: { autoRetry: maxRetries > 0, maxRetries, totalTimeout: 60 },
    ...options.storageOptions,
  })
  const bucket = storage.bucket(bucketName)
  const full = (key: string): string => (prefix === '' ? key : `${prefix}/${key}`)
  const emulator = process.env.STORAGE_EMULATOR_HOST
  return {
    kind: 'gcs',
    location: `gs://${bucketName}${prefix === '' ? '' : `/${prefix}`}`,
    async put(key: string, body: string | Buffer, putOptions?: Partial<PutOptions>) {
      const o = defaultPutOptions(key, putOptions)
      await bucket.file(full(key)).save(typeof body === 'string' ? Buffer.from(body) : body, {
        resumable: false,
        contentType: o.contentType,
        metadata: { contentType: o.contentType, cacheControl: o.cacheControl },
      })
    },
    async get(key: string) {
      try {
        const [buf] = await bucket.file(full(key)).download()
        return buf
      } catch (error) {
        if ((error as { code?: number }).code === 404) return null
        throw error
      }
    },
    async list(listPrefix: string) {
      const p = full(listPrefix)
      const [files] = await bucket.getFiles({ prefix: p, autoPaginate: true })
      const cut = prefix === '' ? 0 : prefix.length + 1
      return files.map((f) => f.name.slice(cut)).sort()
    },
    async url(key: string) {
      const name = full(key)
      if (options.signedUrlTtlMs !== undefined && emulator === undefined) {
        const [signed] = await bucket
          .file(name)
          .getSignedUrl({ version: 'v4', action: 'read', expires: Date.now() + options.signedUrlTtlMs })
        return signed
      }
      if (emulator !== undefined) {
        const host = /^https?:\/\//.test(emulator) ? emulator : `http://${emulator}`
        return `${host.replace(/\/+$/, '')}/download/storage/v1/b/${bucketName}/o/${encodeURIComponent(name)}?alt=media`
      }
      return `https://storage.googleapis.com/${bucketName}/${name.split('/').map(encodeURIComponent).join('/')}`
    },
  }
}
