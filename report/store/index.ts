import { gcsStore, type GcsStoreOptions } from './gcs.js'
import { localStore } from './local.js'
import type { Store } from './store.js'

export type { Store, PutOptions } from './store.js'
export { localStore } from './local.js'
export { gcsStore, parseGcsUrl } from './gcs.js'

/** `gs://bucket/prefix` is GCS; anything else is a local folder. */
export function openStore(spec: string, options: GcsStoreOptions = {}): Store {
  return spec.startsWith('gs://') ? gcsStore(spec, options) : localStore(spec)
}
