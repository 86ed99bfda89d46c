import { LogHistogram } from '../protocol/log-histogram.js'
import { StatsRow } from './stats-row.js'

/** What the report keeps of one endpoint in one second. */
export interface EndpointSecond {
  requests: number
  failures: number
  p95Ms: number | null
}

/** A settled second reduced to what the report shows of it (see `SecondBin.seal`). */
interface SealedSecond {
  requests: number
  failures: number
  p50Ms: number | null
  p95Ms: number | null
  p99Ms: number | null
  endpoints: Map<string, EndpointSecond>
}

export function rowKey(method: string, name: string): string {
  return `${method} ${name}`
}

/** Merges rows into one "Aggregated" row (computed on demand: merging every report twice costs master CPU). */
export function sumRows(rows: Iterable<StatsRow>, lean = false): StatsRow {
  const total = new StatsRow('', 'Aggregated', lean)
  for (const row of rows) total.addRow(row)
  return total
}

/**
 * One second of the time series: what completed in it, and what the master saw (users, workers). While reports
 * for it can still arrive it keeps full rows (Locust buckets and Horde histograms per endpoint); once settled it
 * is sealed into the few numbers the report shows (requests, failures, p50/p95/p99, per endpoint requests,
 * failures and p95), so a 1-hour run with 200 endpoints keeps 3 600 small summaries, not 720 000 histograms.
 */
export class SecondBin {
  /** Live rows; after sealing, only rows of reports that arrived later still (counts only: see `endpointSeconds`). */
  readonly endpoints = new Map<string, StatsRow>()
  #total: StatsRow | null = null
  #sealed: SealedSecond | null = null
  /** All requests of the second, when Horde workers sent per-second histograms (null once sealed). */
  hdr: LogHistogram | null = null
  users: number | null = null
  workers: number | null = null
  phase: string | undefined

  constructor(readonly second: number) {}

  get sealed(): boolean {
    return this.#sealed !== null
  }

  /** All live endpoints of the second merged; cached until the next report touches this second. */
  get total(): StatsRow {
    this.#total ??= sumRows(this.endpoints.values(), true)
    return this.#total
  }

  get requests(): number {
    return (this.#sealed?.requests ?? 0) + this.total.requests
  }

  get failures(): number {
    return (this.#sealed?.failures ?? 0) + this.total.failures
  }

  /** `key`: rowKey(method, name), when the caller already has it. */
  endpoint(method: string, name: string, key = rowKey(method, name)): StatsRow {
    this.#total = null
    let row = this.endpoints.get(key)
    if (row === undefined) {
      row = new StatsRow(method, name, true)
      this.endpoints.set(key, row)
    }
    return row
  }

  /** Adds a worker's histogram of all its requests in this second (ignored once sealed). */
  addHistogramWire(wire: Uint8Array): void {
    if (this.#sealed !== null) return
    this.hdr ??= new LogHistogram()
    this.hdr.addWire(wire)
  }

  /**
   * Percentile of the whole second: from Horde histograms when they cover every timed request. A sealed second
   * answers p50, p95 and p99 (what the report charts); reports that arrived after sealing add only their counts.
   */
  percentileMs(fraction: number): number | null {
    if (this.#sealed !== null) {
      if (fraction === 0.5) return this.#sealed.p50Ms
      if (fraction === 0.95) return this.#sealed.p95Ms
      if (fraction === 0.99) return this.#sealed.p99Ms
      return null
    }
    if (
      this.hdr !== null &&
      Math.abs(this.hdr.totalCount - this.total.timedCount) < 0.5 &&
      this.hdr.totalCount > 0
    ) {
      return this.hdr.percentileMs(fraction * 100)
    }
    return this.total.percentileMs(fraction)
  }

  /** Per endpoint: requests, failures and p95 of the second. */
  endpointSeconds(): Map<string, EndpointSecond> {
    const out = new Map<string, EndpointSecond>(
      [...(this.#sealed?.endpoints ?? [])].map(([key, value]) => [key, { ...value }]),
    )
    for (const [key, row] of this.endpoints) {
      const sealed = out.get(key)
      if (sealed === undefined) {
        out.set(key, { requests: row.requests, failures: row.failures, p95Ms: row.percentileMs(0.95) })
      } else {
        sealed.requests += row.requests
        sealed.failures += row.failures
      }
    }
    return out
  }

  /** Reduces the second to its summary and frees its rows and histograms. Idempotent. */
  seal(): void {
    if (this.#sealed !== null) return
    this.#sealed = {
      requests: this.total.requests,
      failures: this.total.failures,
      p50Ms: this.percentileMs(0.5),
      p95Ms: this.percentileMs(0.95),
      p99Ms: this.percentileMs(0.99),
      endpoints: this.endpointSeconds(),
    }
    this.endpoints.clear()
    this.#total = null
    this.hdr = null
  }
}
