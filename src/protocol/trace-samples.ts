import { z } from 'zod'

/**
 * Trace samples: with tracing on, a Horde worker adds to each stats report a few trace ids per endpoint (its
 * slowest and its failed requests since the last report), so the report can link an endpoint's worst
 * requests to their traces. A top-level key of the report's data, as Locust lets workers add; a Locust
 * master ignores it.
 *   horde_traces: [[method, name, traceId, durationMs, failed 0|1], ...]
 * traceId is the decimal 64-bit id Datadog's trace view takes (/apm/trace/<id>).
 */
export const TRACE_SAMPLES_KEY = 'horde_traces'

/** Per endpoint and report: this many slowest and this many failed. */
export const TRACE_SAMPLES_PER_KIND = 3
/** Per report, whatever the number of endpoints: the wire stays small. */
export const MAX_TRACE_SAMPLES_PER_REPORT = 600

export interface TraceSample {
  method: string
  name: string
  traceId: string
  durationMs: number
  failed: boolean
}

const wireSample = z.tuple([
  z.string().max(16),
  z.string().max(2048),
  z.string().regex(/^[0-9]{1,20}$/),
  z.number().finite().min(0),
  z.union([z.literal(0), z.literal(1)]),
])
const wireSamples = z.array(wireSample).max(MAX_TRACE_SAMPLES_PER_REPORT)

export function encodeTraceSamples(samples: readonly TraceSample[]): unknown[] {
  return samples.map((s) => [
    s.method,
    s.name,
    s.traceId,
    Math.round(s.durationMs * 100) / 100,
    s.failed ? 1 : 0,
  ])
}

/** Validated at the trust boundary: a malformed list is dropped whole (null), never half-read. */
export function decodeTraceSamples(extra: Record<string, unknown>): TraceSample[] | null {
  const raw = extra[TRACE_SAMPLES_KEY]
  if (raw === undefined) return null
  const parsed = wireSamples.safeParse(raw)
  if (!parsed.success) return null
  return parsed.data.map(([method, name, traceId, durationMs, failed]) => ({
    method,
    name,
    traceId,
    durationMs,
    failed: failed === 1,
  }))
}
