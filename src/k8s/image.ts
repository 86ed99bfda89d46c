import { ConfigError, describeValue } from '../shared/errors.js'

/**
 * How the image starts Horde (the Dockerfile's ENTRYPOINT): node as PID 1 with the CLI's path, so a worker
 * that needs Node flags can be started as `node <flags> /app/bin/horde.js worker` with the same binary.
 * test/k8s/render.test.ts checks that the Dockerfile says the same.
 */
export const IMAGE_ENTRYPOINT = ['node', '/app/bin/horde.js'] as const

/** The image name the base manifests use; kustomize's `images:` replaces it with the run's image. */
export const BASE_IMAGE_NAME = 'horde'

export interface ImageRef {
  newName: string
  newTag?: string
  digest?: string
}

// registry[:port]/path[:tag][@sha256:hex], lowercase path components as the OCI distribution spec requires.
const IMAGE_RE =
  /^(?<name>(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/

/** `ghcr.io/acme/horde:sha-1234` or `...@sha256:...` → kustomize's images entry. */
export function parseImageRef(text: string): ImageRef {
  const match = IMAGE_RE.exec(text)
  const groups = match?.groups
  if (groups?.name === undefined) {
    throw new ConfigError(
      'HORDE_ERR_K8S_IMAGE',
      `--image must be an image reference such as ghcr.io/acme/horde:3f2a1c0 or ghcr.io/acme/horde@sha256:<64 hex>, received ${describeValue(text)}.`,
    )
  }
  const ref: ImageRef = { newName: groups.name }
  if (groups.tag !== undefined) ref.newTag = groups.tag
  if (groups.digest !== undefined) ref.digest = groups.digest
  return ref
}

/** A label value naming the image version for Datadog (tag, or the digest's first 12 hex digits). */
export function imageVersion(ref: ImageRef): string {
  if (ref.digest !== undefined) return ref.digest.slice('sha256:'.length, 'sha256:'.length + 12)
  return (ref.newTag ?? 'latest')
    .slice(0, 63)
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/[^A-Za-z0-9]+$/, '')
}
