import type { IncomingMessage } from 'node:http'

/**
 * Is this browser request from a page of the master's own origin? The dashboard's buttons must work when the
 * page arrives through a proxy that rewrites the path and the Host (the Kubernetes API server's service proxy
 * under /api/v1/namespaces/…/services/…/proxy/, `kubectl proxy`, an ingress), while a page of any other
 * origin must not drive the run. The rule, as browsers and Go's CrossOriginProtection have it:
 *
 * 1. `Sec-Fetch-Site` (sent by every current browser, and a header no page script can set): `same-origin` or
 *    `none` (typed in the address bar) passes; `same-site` and `cross-site` are refused. It describes the
 *    origin the browser saw, so it is right behind any proxy.
 * 2. Otherwise (an older browser) `Origin`, when present, must name the host the request was sent to: the
 *    Host header, or `X-Forwarded-Host` when a proxy in front rewrote Host. A page cannot set
 *    X-Forwarded-Host on a cross-origin request without a CORS preflight, which this server never answers.
 * 3. No `Origin` and no `Sec-Fetch-Site`: not a browser's cross-origin request (curl, kubectl, the CLI).
 *
 * The Host check (DNS rebinding) runs before this, and the control token still guards every control route:
 * behind the API server's proxy every service shares one origin, so "same origin" alone is not trust.
 */
export function crossOriginRefusal(req: IncomingMessage): string | null {
  const site = header(req, 'sec-fetch-site')
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return null
    return `cross-origin requests are refused (Sec-Fetch-Site ${JSON.stringify(site)}${describeOrigin(req)}): open the dashboard from this master's own address`
  }
  const origin = header(req, 'origin')
  if (origin === undefined) return null
  let originHost: string | null = null
  try {
    originHost = new URL(origin).host.toLowerCase()
  } catch {
    originHost = null
  }
  const host = (header(req, 'host') ?? '').toLowerCase()
  // A chain of proxies lists the first client-facing host first.
  const forwarded = header(req, 'x-forwarded-host')?.split(',')[0]?.trim().toLowerCase()
  if (originHost !== null && (originHost === host || originHost === forwarded)) return null
  return `cross-origin requests are refused (Origin ${JSON.stringify(origin)} is neither Host ${JSON.stringify(host)}${forwarded === undefined ? '' : ` nor X-Forwarded-Host ${JSON.stringify(forwarded)}`})`
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function describeOrigin(req: IncomingMessage): string {
  const origin = header(req, 'origin')
  return origin === undefined ? '' : `, Origin ${JSON.stringify(origin)}`
}
