/**
 * The one place that decides what is secret. Logs, result.json, the report and the console all go through
 * it, so a credential is hidden the same way everywhere:
 * - user:password in a URL (`http://alice:s3cret@host/` → `http://[redacted]@host/`), in any string;
 * - values under secret-looking keys, matched case-insensitively (`Authorization`, `X-Api-Key`, `Cookie`,
 *   `Proxy-Authorization`, and any name containing token, secret, password or key).
 */
export const REDACTED = '[redacted]'

// scheme://userinfo@ — userinfo is everything up to the last '@' before the host part ends.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi
const SECRET_NAMES = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'])
const SECRET_PARTS = /token|secret|passw(or)?d|key|credential/i

/** Hides user:password (or a bare user token) in every URL inside `text`. */
export function redactUrlCredentials(text: string): string {
  return text.includes('@') ? text.replace(URL_CREDENTIALS, `$1${REDACTED}@`) : text
}

/** True for header or field names whose value is a secret, whatever their case. */
export function isSecretName(name: string): boolean {
  return SECRET_NAMES.has(name.toLowerCase()) || SECRET_PARTS.test(name)
}

/**
 * A copy of `value` with secret-named fields replaced and URL credentials hidden in every string. Only plain
 * objects and arrays are walked (errors and class instances are left to their serializers, whose strings are
 * redacted by the caller); depth is bounded so a cyclic or deep object cannot hang a log call.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactUrlCredentials(value) as T
  if (depth > 8 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((item: unknown) => redactSecrets(item, depth + 1)) as T
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) return value
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    out[key] =
      isSecretName(key) && item !== undefined && item !== null ? REDACTED : redactSecrets(item, depth + 1)
  }
  return out as T
}
