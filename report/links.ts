import type { RunResult } from '../src/shared/result.js'

/** Datadog deep links for a run. "Configured" means a site is known (HORDE_DATADOG_SITE or DD_SITE). */
export interface DatadogOptions {
  /** datadoghq.com, datadoghq.eu, us5.datadoghq.com, ... */
  site: string
  service?: string
  env?: string
  /**
   * The imported Horde dashboard's id (`abc-def-ghi`, from manifests/datadog/dashboard.json; HORDE_DATADOG_DASHBOARD):
   * its link opens on the run's window with the run_id template variable set.
   */
  dashboardId?: string
}

export interface RunLinks {
  logs: string | null
  traces: string | null
  /** The metrics dashboard on this run (null without a dashboard id). */
  dashboard: string | null
  /** One trace by its id (decimal 64-bit, as result.json's `tracing.samples` keep them). */
  trace: ((traceId: string) => string) | null
  /** Traces of one endpoint, by the `resource_name` the worker's spans carry ("GET /api/items"). */
  endpointTraces: ((method: string, name: string) => string) | null
}

/** Datadog searches a little around the run: clocks differ and logs straggle. */
const MARGIN_MS = 60_000

export function datadogLinks(
  result: Pick<RunResult, 'runId' | 'startedAtMs' | 'endedAtMs'>,
  dd: DatadogOptions | undefined,
): RunLinks {
  if (dd === undefined || dd.site.trim() === '')
    return { logs: null, traces: null, dashboard: null, trace: null, endpointTraces: null }
  const site = dd.site
    .replace(/^https?:\/\//, '')
    .replace(/^app\./, '')
    .replace(/\/+$/, '')
  const base = `https://app.${site}`
  const from = result.startedAtMs - MARGIN_MS
  const to = result.endedAtMs + MARGIN_MS
  const scope = [dd.service ? `service:${dd.service}` : '', dd.env ? `env:${dd.env}` : '']
    .filter(Boolean)
    .join(' ')
  // The JSON logger's base field is runId; the worker tags spans with horde.run_id.
  const logsQuery = `@runId:${quoteTerm(result.runId)}${scope ? ` ${scope}` : ''}`
  const tracesQuery = `@horde.run_id:${quoteTerm(result.runId)}${scope ? ` ${scope}` : ''}`
  const q = (query: string): string => encodeURIComponent(query)
  return {
    logs: `${base}/logs?query=${q(logsQuery)}&from_ts=${from}&to_ts=${to}&live=false`,
    traces: `${base}/apm/traces?query=${q(tracesQuery)}&start=${from}&end=${to}&paused=true`,
    dashboard:
      dd.dashboardId === undefined || !DASHBOARD_ID.test(dd.dashboardId)
        ? null
        : `${base}/dashboard/${dd.dashboardId}?tpl_var_run_id=${q(result.runId)}&from_ts=${from}&to_ts=${to}&live=false`,
    trace: (traceId) => `${base}/apm/trace/${/^[0-9]{1,20}$/.test(traceId) ? traceId : '0'}`,
    endpointTraces: (method, name) =>
      `${base}/apm/traces?query=${q(`${tracesQuery} resource_name:${quoteTerm(`${method} ${name}`)}`)}&start=${from}&end=${to}&paused=true`,
  }
}

/** Datadog dashboard ids look like `abc-def-ghi`. */
export const DASHBOARD_ID = /^[a-z0-9]{3}-[a-z0-9]{3}-[a-z0-9]{3}$/

function quoteTerm(text: string): string {
  return /^[A-Za-z0-9._:/-]+$/.test(text) ? text : `"${text.replace(/["\\]/g, '\\$&')}"`
}

/** Only http(s) URLs become links: a label value like `javascript:...` stays plain text. */
export function safeHref(value: string): string | null {
  try {
    const url = new URL(value)
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null
    url.username = ''
    url.password = ''
    return url.toString()
  } catch {
    return null
  }
}

const SECRET_KEY = /token|secret|passw|pwd|api[-_]?key|auth|credential|cookie|session|signature|private/i

/** Never print credentials: strip user:password@ and secret-looking query values from a host URL. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value)
    if (url.username !== '' || url.password !== '') {
      url.username = ''
      url.password = ''
    }
    for (const key of [...url.searchParams.keys()])
      if (SECRET_KEY.test(key)) url.searchParams.set(key, 'redacted')
    return url.toString()
  } catch {
    return value.replace(/\/\/[^/@\s]*@/, '//')
  }
}

/** Labels whose key looks like a secret are shown as [redacted]; values lose embedded credentials. */
export function redactLabels(labels: Record<string, string>): Array<{ key: string; value: string }> {
  return Object.entries(labels).map(([key, value]) => ({
    key,
    value: SECRET_KEY.test(key) ? '[redacted]' : redactUrl(value),
  }))
}

/** Datadog links are on when a site is configured: HORDE_DATADOG_SITE, else DD_SITE (the agent's own). */
export function datadogFromEnv(env: NodeJS.ProcessEnv): DatadogOptions | undefined {
  const site = env.HORDE_DATADOG_SITE ?? env.DD_SITE
  if (site === undefined || site.trim() === '') return undefined
  return {
    site,
    ...(env.DD_SERVICE ? { service: env.DD_SERVICE } : {}),
    ...(env.DD_ENV ? { env: env.DD_ENV } : {}),
    ...(env.HORDE_DATADOG_DASHBOARD ? { dashboardId: env.HORDE_DATADOG_DASHBOARD } : {}),
  }
}
