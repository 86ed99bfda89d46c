import type { Logger } from '../../shared/logger.js'
import { unifiedServiceTags } from '../../shared/datadog-tags.js'
import type { TraceSettings } from './trace-settings.js'
import type { TraceSample } from '../../protocol/trace-samples.js'
import { TraceSampleCollector } from './trace-sample-collector.js'

/**
 * One traced request: the headers to send (the caller's plus Datadog's and W3C's trace context) and how to
 * end its span. Only sampled requests get one; the rest cost the hot path one random number.
 */
export interface TracedRequest {
  readonly headers: Record<string, string>
  /** `stopped`: the user was stopped (not a failure of the target): the span ends, no sample is kept. */
  finish(status: number, error: string | null, durationMs: number, stopped?: boolean): void
}

/** What the HTTP client asks of a tracer (null on the transport when tracing is off: one null check per request). */
export interface RequestTracer {
  /** A span for this request, or null when it is not sampled. */
  start(
    method: string,
    name: string,
    origin: string,
    userClass: string,
    headers: Record<string, string> | undefined,
  ): TracedRequest | null
  /** Trace ids of the slowest and failed traced requests since the last call, for the next stats report. */
  takeSamples(): TraceSample[]
  /** Sends the spans still buffered (bounded: a dead agent never holds the worker's exit). */
  flush(timeoutMs?: number): Promise<void>
}

export interface TracerContext {
  readonly runId: string | null
  readonly scenario: string
  readonly workerId: string
}

/** The part of dd-trace 5's API used here (its types are loaded only with the module). */
interface DdSpan {
  setTag(key: string, value: unknown): DdSpan
  finish(): void
  context(): { toTraceId(): string }
}
interface DdTracer {
  init(options: Record<string, unknown>): DdTracer
  startSpan(name: string, options: { tags: Record<string, unknown> }): DdSpan
  inject(span: DdSpan, format: 'http_headers', carrier: Record<string, string>): void
  _tracer?: { _exporter?: { flush?: (done: () => void) => void } }
}

/**
 * Loads and starts dd-trace, only when tracing is on: with it off this module is never imported, so a worker
 * pays nothing (dd-trace costs ~120 ms of start-up and ~30 MB). Its automatic instrumentation stays off: the
 * worker's requests go through undici's dispatcher, and an automatic span per request would be paid for the
 * 99 % that are not sampled. The agent comes from dd-trace's own settings (DD_TRACE_AGENT_URL, DD_AGENT_HOST).
 */
export async function startRequestTracer(
  settings: TraceSettings,
  context: TracerContext,
  log: Logger,
): Promise<RequestTracer> {
  // Quiet by default: no remote configuration polling or telemetry from a load generator.
  process.env.DD_REMOTE_CONFIGURATION_ENABLED ??= 'false'
  process.env.DD_INSTRUMENTATION_TELEMETRY_ENABLED ??= 'false'
  let tracer: DdTracer
  try {
    tracer = (await import('dd-trace')).default as unknown as DdTracer
  } catch (error) {
    log.warn({ err: error }, 'tracing asked for, but dd-trace is not installed: requests are not traced')
    return NO_TRACING
  }
  const tags = unifiedServiceTags()
  tracer.init({
    service: tags.service,
    env: tags.env,
    version: tags.version,
    plugins: false,
    startupLogs: false,
    logInjection: false,
    runtimeMetrics: false,
    flushInterval: 1000,
    tracePropagationStyle: { inject: ['datadog', 'tracecontext'], extract: ['datadog', 'tracecontext'] },
  })
  log.info({ sample: settings.sample, ...tags }, 'tracing requests with dd-trace')
  const sample = settings.sample
  // Tags every span of this worker carries, built once.
  const fixed: Record<string, string> = {
    'span.kind': 'client',
    'span.type': 'http',
    component: 'horde',
    'horde.scenario': context.scenario,
    'horde.worker': context.workerId,
    ...(context.runId !== null ? { 'horde.run_id': context.runId } : {}),
  }
  const samples = new TraceSampleCollector()
  return {
    takeSamples: () => samples.take(),
    start(method, name, origin, userClass, headers) {
      if (sample < 1 && Math.random() >= sample) return null
      const span = tracer.startSpan('http.request', {
        tags: {
          ...fixed,
          'resource.name': `${method} ${name}`,
          'http.method': method,
          'out.host': hostOf(origin),
          'horde.user_class': userClass,
          // We sampled already: keep the trace end to end (the target's spans inherit priority 2).
          'manual.keep': true,
        },
      })
      const carrier: Record<string, string> = headers === undefined ? {} : { ...headers }
      tracer.inject(span, 'http_headers', carrier)
      return {
        headers: carrier,
        finish(status, error, durationMs, stopped = false) {
          if (status > 0) span.setTag('http.status_code', String(status))
          if (error !== null) {
            span.setTag('error', true)
            span.setTag('error.message', error)
          }
          span.finish()
          if (!stopped)
            samples.add({
              method,
              name,
              traceId: span.context().toTraceId(),
              durationMs,
              failed: error !== null,
            })
        },
      }
    },
    flush(timeoutMs = 2000) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs)
        const exporter = tracer._tracer?._exporter
        if (exporter?.flush === undefined) return
        exporter.flush(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    },
  }
}

function hostOf(origin: string): string {
  try {
    return new URL(origin).hostname
  } catch {
    return origin
  }
}

const NO_TRACING: RequestTracer = {
  start: () => null,
  takeSamples: () => [],
  flush: () => Promise.resolve(),
}
