import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { z } from 'zod'
import { KubeError } from '../shared/errors.js'

/**
 * The runner's kubeconfig, read the way kubectl reads it, for what google-github-actions/get-gke-credentials
 * and a plain cluster leave: the current context's server, CA, namespace, and the user's credentials — a
 * token, a token file, a client certificate, an `exec` plugin (gke-gcloud-auth-plugin) or the legacy `gcp`
 * auth-provider (`use_auth_provider: true`). Tokens from a plugin or provider expire (about an hour): they
 * are cached until shortly before their expiry, and `refresh()` forgets them and re-reads the file, so a
 * run that waits longer than an hour keeps working.
 */
export interface KubeAccess {
  server: string
  namespace: string
  ca?: string
  cert?: string
  key?: string
  insecure: boolean
  /** The bearer token to send now, or null for certificate-only users. */
  token(): Promise<string | null>
  /** After a 401: forget the cached token and read the kubeconfig again. */
  refresh(): void
}

const userSchema = z
  .object({
    token: z.string().optional(),
    tokenFile: z.string().optional(),
    'client-certificate': z.string().optional(),
    'client-certificate-data': z.string().optional(),
    'client-key': z.string().optional(),
    'client-key-data': z.string().optional(),
    exec: z
      .object({
        command: z.string(),
        args: z.array(z.string()).nullish(),
        env: z.array(z.object({ name: z.string(), value: z.string() })).nullish(),
      })
      .passthrough()
      .optional(),
    'auth-provider': z
      .object({ name: z.string(), config: z.record(z.string(), z.string()).default({}) })
      .optional(),
  })
  .passthrough()

const kubeconfigSchema = z
  .object({
    'current-context': z.string().optional(),
    clusters: z
      .array(
        z.object({
          name: z.string(),
          cluster: z
            .object({
              server: z.string(),
              'certificate-authority': z.string().optional(),
              'certificate-authority-data': z.string().optional(),
              'insecure-skip-tls-verify': z.boolean().optional(),
            })
            .passthrough(),
        }),
      )
      .default([]),
    users: z.array(z.object({ name: z.string(), user: userSchema })).default([]),
    contexts: z
      .array(
        z.object({
          name: z.string(),
          context: z
            .object({ cluster: z.string(), user: z.string(), namespace: z.string().optional() })
            .passthrough(),
        }),
      )
      .default([]),
  })
  .passthrough()

type User = z.infer<typeof userSchema>

/** Kubeconfig lookup as kubectl does it: $KUBECONFIG (first existing of its paths), else ~/.kube/config. */
export function kubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const listed = (env.KUBECONFIG ?? '').split(':').filter((p) => p !== '')
  const found = listed.find((p) => existsSync(p))
  if (found !== undefined) return found
  const fallback = join(homedir(), '.kube', 'config')
  if (listed.length === 0 && existsSync(fallback)) return fallback
  throw new KubeError(
    'HORDE_ERR_K8S_KUBECONFIG',
    `no kubeconfig found (KUBECONFIG=${JSON.stringify(env.KUBECONFIG ?? '')}, ~/.kube/config absent). Run google-github-actions/get-gke-credentials (or write a kubeconfig) before this step.`,
  )
}

function readConfig(path: string) {
  let doc: unknown
  try {
    doc = parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new KubeError('HORDE_ERR_K8S_KUBECONFIG', `kubeconfig ${path} is not YAML: ${String(error)}`)
  }
  const parsed = kubeconfigSchema.safeParse(doc)
  if (!parsed.success)
    throw new KubeError(
      'HORDE_ERR_K8S_KUBECONFIG',
      `kubeconfig ${path} is not a kubeconfig: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
    )
  const cfg = parsed.data
  const context = cfg.contexts.find((c) => c.name === cfg['current-context'])?.context
  if (context === undefined)
    throw new KubeError(
      'HORDE_ERR_K8S_KUBECONFIG',
      `kubeconfig ${path} has no current context (current-context ${JSON.stringify(cfg['current-context'] ?? '')}).`,
    )
  const cluster = cfg.clusters.find((c) => c.name === context.cluster)?.cluster
  const user = cfg.users.find((u) => u.name === context.user)?.user ?? {}
  if (cluster === undefined)
    throw new KubeError('HORDE_ERR_K8S_KUBECONFIG', `kubeconfig ${path} has no cluster ${context.cluster}.`)
  return { cluster, user, namespace: context.namespace }
}

const run = promisify(execFile)
/** Refresh a little before the credential expires, so a request never carries one that dies on the way. */
const EXPIRY_MARGIN_MS = 60_000

/** `{.credential.access_token}` → ['credential', 'access_token'] (the gcp provider's token-key syntax). */
function jsonPath(expr: string | undefined, fallback: string[]): string[] {
  if (expr === undefined) return fallback
  return expr
    .replace(/^\{?\.?|\}$/g, '')
    .split('.')
    .filter((p) => p !== '')
}

function dig(value: unknown, path: string[]): unknown {
  let v = value
  for (const p of path)
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[p] : undefined
  return v
}

async function tokenFrom(user: User, base: string): Promise<{ token: string | null; expiresAtMs: number }> {
  const forever = Number.POSITIVE_INFINITY
  if (user.tokenFile !== undefined) {
    const file = isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile)
    // Re-read on every refresh: projected service-account tokens rotate in place.
    return { token: readFileSync(file, 'utf8').trim(), expiresAtMs: Date.now() + 5 * 60_000 }
  }
  if (user.token !== undefined) return { token: user.token, expiresAtMs: forever }
  if (user.exec !== undefined) {
    const env = { ...process.env }
    for (const e of user.exec.env ?? []) env[e.name] = e.value
    const { stdout } = await run(user.exec.command, user.exec.args ?? [], { env, timeout: 60_000 })
    const status = (JSON.parse(stdout) as { status?: { token?: string; expirationTimestamp?: string } })
      .status
    if (status?.token === undefined)
      throw new KubeError('HORDE_ERR_K8S_AUTH', `${user.exec.command} returned no status.token`)
    const exp = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : forever
    return { token: status.token, expiresAtMs: exp }
  }
  const provider = user['auth-provider']
  if (provider !== undefined) {
    const c = provider.config
    const cached = c['access-token']
    const expiry = c.expiry ? Date.parse(c.expiry) : forever
    if (cached !== undefined && expiry - EXPIRY_MARGIN_MS > Date.now())
      return { token: cached, expiresAtMs: expiry }
    if (c['cmd-path'] === undefined)
      throw new KubeError(
        'HORDE_ERR_K8S_AUTH',
        `the kubeconfig's ${provider.name} auth-provider token has expired and it names no cmd-path to refresh it`,
      )
    const args = (c['cmd-args'] ?? '').split(' ').filter((a) => a !== '')
    const { stdout } = await run(c['cmd-path'], args, { timeout: 60_000 })
    const out = JSON.parse(stdout) as unknown
    const token = dig(out, jsonPath(c['token-key'], ['credential', 'access_token']))
    const exp = dig(out, jsonPath(c['expiry-key'], ['credential', 'token_expiry']))
    if (typeof token !== 'string')
      throw new KubeError(
        'HORDE_ERR_K8S_AUTH',
        `${c['cmd-path']} printed no token at ${c['token-key'] ?? 'credential.access_token'}`,
      )
    return { token, expiresAtMs: typeof exp === 'string' ? Date.parse(exp) : Date.now() + 30 * 60_000 }
  }
  return { token: null, expiresAtMs: forever }
}

const fileOrData = (base: string, file?: string, data?: string): string | undefined =>
  data !== undefined
    ? Buffer.from(data, 'base64').toString('utf8')
    : file !== undefined
      ? readFileSync(isAbsolute(file) ? file : join(base, file), 'utf8')
      : undefined

export function loadKubeAccess(path: string = kubeconfigPath()): KubeAccess {
  const base = dirname(path)
  const first = readConfig(path)
  let user = first.user
  let cached: { token: string | null; expiresAtMs: number } | null = null
  return {
    server: first.cluster.server.replace(/\/+$/, ''),
    namespace: first.namespace ?? 'default',
    ca: fileOrData(base, first.cluster['certificate-authority'], first.cluster['certificate-authority-data']),
    cert: fileOrData(base, user['client-certificate'], user['client-certificate-data']),
    key: fileOrData(base, user['client-key'], user['client-key-data']),
    insecure: first.cluster['insecure-skip-tls-verify'] === true,
    async token() {
      if (cached === null || cached.expiresAtMs - EXPIRY_MARGIN_MS <= Date.now())
        cached = await tokenFrom(user, base)
      return cached.token
    },
    refresh() {
      cached = null
      try {
        user = readConfig(path).user
      } catch {
        // Keep the last good credentials: a kubeconfig caught mid-rewrite is read again on the next 401.
      }
    },
  }
}
