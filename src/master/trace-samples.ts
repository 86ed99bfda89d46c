import type { TraceSamplesResult } from '../shared/result.js'
import { TRACE_SAMPLES_PER_KIND, decodeTraceSamples, type TraceSample } from '../protocol/trace-samples.js'

/** Endpoints kept, whatever the workers send: result.json stays small. */
const MAX_ENDPOINTS = 1000

/**
 * The run's trace samples from every worker's reports: per endpoint the slowest traced requests and the first
 * failed ones (a few each), for the report's links from an endpoint to its worst requests' traces.
 */
export class TraceSampleBook {
  readonly #byEndpoint = new Map<string, { slowest: TraceSample[]; failed: TraceSample[] }>()

  /** Called with each stats report's extra fields; reports without samples cost a lookup. */
  add(extra: Record<string, unknown>): void {
    const samples = decodeTraceSamples(extra)
    if (samples === null) return
    for (const sample of samples) {
      const key = `${sample.method} ${sample.name}`
      let entry = this.#byEndpoint.get(key)
      if (entry === undefined) {
        if (this.#byEndpoint.size >= MAX_ENDPOINTS) continue
        entry = { slowest: [], failed: [] }
        this.#byEndpoint.set(key, entry)
      }
      if (sample.failed) {
        if (entry.failed.length < TRACE_SAMPLES_PER_KIND) entry.failed.push(sample)
      } else {
        entry.slowest.push(sample)
        entry.slowest.sort((a, b) => b.durationMs - a.durationMs)
        entry.slowest.length = Math.min(entry.slowest.length, TRACE_SAMPLES_PER_KIND)
      }
    }
  }

  get size(): number {
    return this.#byEndpoint.size
  }

  /** For result.json: keyed `${method} ${name}` as the endpoints are. */
  toResult(): TraceSamplesResult {
    const out: TraceSamplesResult = {}
    const strip = (s: TraceSample): { traceId: string; durationMs: number } => ({
      traceId: s.traceId,
      durationMs: s.durationMs,
    })
    for (const [key, entry] of this.#byEndpoint)
      out[key] = { slowest: entry.slowest.map(strip), failed: entry.failed.map(strip) }
    return out
  }
}
