import {
  MAX_TRACE_SAMPLES_PER_REPORT,
  TRACE_SAMPLES_PER_KIND,
  type TraceSample,
} from '../../protocol/trace-samples.js'

interface EndpointSamples {
  slowest: TraceSample[]
  failed: TraceSample[]
}

/**
 * Keeps, per endpoint until the next stats report, the slowest traced requests and the first failed ones:
 * a few entries each, so the cost per traced request is a comparison or two (only sampled requests get here).
 */
export class TraceSampleCollector {
  #byEndpoint = new Map<string, EndpointSamples>()
  #count = 0

  add(sample: TraceSample): void {
    const key = `${sample.method} ${sample.name}`
    let entry = this.#byEndpoint.get(key)
    if (entry === undefined) {
      // Bounded whatever the scenario's URLs: past the cap, new endpoints wait for the next report.
      if (this.#count + 2 * TRACE_SAMPLES_PER_KIND > MAX_TRACE_SAMPLES_PER_REPORT) return
      entry = { slowest: [], failed: [] }
      this.#byEndpoint.set(key, entry)
      this.#count += 2 * TRACE_SAMPLES_PER_KIND
    }
    if (sample.failed) {
      if (entry.failed.length < TRACE_SAMPLES_PER_KIND) entry.failed.push(sample)
      return
    }
    const slowest = entry.slowest
    if (slowest.length < TRACE_SAMPLES_PER_KIND) {
      slowest.push(sample)
      slowest.sort((a, b) => b.durationMs - a.durationMs)
    } else if (sample.durationMs > (slowest[slowest.length - 1] as TraceSample).durationMs) {
      slowest[slowest.length - 1] = sample
      slowest.sort((a, b) => b.durationMs - a.durationMs)
    }
  }

  /** The samples since the last call, then a fresh start. */
  take(): TraceSample[] {
    const out: TraceSample[] = []
    for (const entry of this.#byEndpoint.values()) out.push(...entry.slowest, ...entry.failed)
    this.#byEndpoint = new Map()
    this.#count = 0
    return out
  }
}
