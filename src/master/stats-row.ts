import type { StatsEntryWire } from '../protocol/messages.js'
import { bucketResponseTime } from '../protocol/buckets.js'
import { LogHistogram, logHistogramWireCount } from '../protocol/log-histogram.js'

/**
 * A share of a report entry: exact request and failure counts, and the slice [from, to) of the entry's other
 * sums (0–1, cumulative) that belongs to it when the entry is split by completion second.
 */
export interface EntryShare {
  requests: number
  failures: number
  from: number
  to: number
}

/**
 * Aggregated statistics of one (method, name) row, or of all rows, over some window. Merging follows Locust's
 * `StatsEntry.extend` exactly (sums, min/max, key-wise bucket sums), and percentiles use Locust's formula on its
 * buckets unless every contribution also carried a Horde high-resolution histogram.
 */
export class StatsRow {
  requests = 0
  noneRequests = 0
  failures = 0
  totalResponseTimeMs = 0
  minResponseTimeMs: number | null = null
  maxResponseTimeMs = 0
  totalBytes = 0
  /**
   * Locust bucket (ms, normalised to a number: 150.0 and 150 are one key) → count; counts may be fractional. In a
   * lean row, while `hdr` is complete, the shares that came with Horde histograms are in `hdr` only.
   */
  readonly buckets = new Map<number, number>()
  /** Present while every contribution had a Horde histogram. */
  hdr: LogHistogram | null = null
  /** False once a contribution without a Horde histogram arrived: percentiles then come from buckets. */
  hdrComplete = true
  /** True while some shares are in `hdr` only (lean rows): `hdr` is then complete and not null. */
  #bucketsInHdr = false

  /**
   * `lean`: a row that skips Locust's buckets for shares that carry Horde histograms (apportioning every
   * report's buckets into its window and each of its seconds was most of the master's merge cost). It derives
   * them from the histogram when a share without one arrives (a Locust worker on the same row) or when they are
   * written out (`locustBuckets`), each value within 0.5 % before Locust's own rounding (±5 %).
   */
  constructor(
    readonly method: string,
    readonly name: string,
    readonly lean = false,
  ) {}

  /**
   * Adds (a share of) one worker's report entry. `requests` and `failures` are exact (from the per-second maps);
   * the other sums are scaled by `fraction` when a report straddles a window boundary. `histograms` (wire form,
   * merged in place without decoding) must hold exactly the timed requests of this share between them, or be
   * null (then percentiles fall back to Locust's buckets).
   */
  addShare(entry: StatsEntryWire, share: EntryShare, histograms: ReadonlyArray<Uint8Array> | null): void {
    const fraction = share.to - share.from
    this.requests += share.requests
    this.failures += share.failures
    const noneRequests = entry.numNoneRequests * fraction
    this.noneRequests += noneRequests
    this.totalResponseTimeMs += entry.totalResponseTime * fraction
    this.totalBytes += entry.totalContentLength * fraction
    if (entry.maxResponseTime > this.maxResponseTimeMs) this.maxResponseTimeMs = entry.maxResponseTime
    const timed = share.requests - noneRequests
    if (entry.minResponseTime !== null && timed > 0) {
      if (this.minResponseTimeMs === null || entry.minResponseTime < this.minResponseTimeMs) {
        this.minResponseTimeMs = entry.minResponseTime
      }
    }
    if (timed <= 0 || !this.hdrComplete) {
      this.#addBuckets(entry.responseTimes, share)
      return
    }
    let count = 0
    if (histograms !== null) for (const wire of histograms) count += logHistogramWireCount(wire)
    // Histograms that do not hold exactly this share's timed requests (a worker whose clock reads for the
    // per-second maps and the histograms disagreed) would make the 0.5 % claim false: use buckets then.
    if (histograms === null || Math.abs(count - timed) >= 0.5) {
      this.#dropHistogram()
      this.#addBuckets(entry.responseTimes, share)
      return
    }
    this.hdr ??= new LogHistogram()
    for (const wire of histograms) this.hdr.addWire(wire)
    if (this.lean) this.#bucketsInHdr = true
    else this.#addBuckets(entry.responseTimes, share)
  }

  #addBuckets(responseTimes: ReadonlyMap<number, number>, share: EntryShare): void {
    const whole = share.from === 0 && share.to === 1
    for (const [key, count] of responseTimes) {
      // Integer apportioning (cumulative rounding): the shares of a bucket add up to its count exactly, and
      // integer counts stay small integers in V8, where fractional ones cost a heap allocation per update.
      const part = whole ? count : Math.round(count * share.to) - Math.round(count * share.from)
      if (part === 0) continue
      const bucket = Number(key)
      this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + part)
    }
  }

  /** Merges another row (used to build totals and the measured window). */
  addRow(other: StatsRow): void {
    this.requests += other.requests
    this.failures += other.failures
    this.noneRequests += other.noneRequests
    this.totalResponseTimeMs += other.totalResponseTimeMs
    this.totalBytes += other.totalBytes
    if (other.maxResponseTimeMs > this.maxResponseTimeMs) this.maxResponseTimeMs = other.maxResponseTimeMs
    if (
      other.minResponseTimeMs !== null &&
      (this.minResponseTimeMs === null || other.minResponseTimeMs < this.minResponseTimeMs)
    ) {
      this.minResponseTimeMs = other.minResponseTimeMs
    }
    for (const [bucket, count] of other.buckets)
      this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + count)
    if (other.timedCount <= 0) return
    if (this.hdrComplete && other.hdr !== null && other.hdrComplete) {
      this.hdr ??= new LogHistogram()
      this.hdr.add(other.hdr)
      // Lean or not, this row now holds some shares in its histogram only.
      if (other.#bucketsInHdr) this.#bucketsInHdr = true
      return
    }
    // This row falls back to Locust buckets: it needs the ones the other row kept in its histogram only.
    if (other.#bucketsInHdr && other.hdr !== null) addHistogramAsBuckets(this.buckets, other.hdr)
    this.#dropHistogram()
  }

  /** All of this row's Locust buckets, including the shares a lean row keeps in its histogram only. */
  locustBuckets(): Map<number, number> {
    if (!this.#bucketsInHdr || this.hdr === null) return this.buckets
    const buckets = new Map(this.buckets)
    addHistogramAsBuckets(buckets, this.hdr)
    return buckets
  }

  /** The high-resolution view holds only while every timed contribution carried a histogram. */
  #dropHistogram(): void {
    if (this.#bucketsInHdr && this.hdr !== null) addHistogramAsBuckets(this.buckets, this.hdr)
    this.#bucketsInHdr = false
    this.hdrComplete = false
    this.hdr = null
  }

  get timedCount(): number {
    return this.requests - this.noneRequests
  }

  get avgResponseTimeMs(): number | null {
    return this.timedCount > 0 ? this.totalResponseTimeMs / this.timedCount : null
  }

  /** True when percentiles come from Horde histograms (≤ 0.5 % error) rather than Locust buckets. */
  get highResolution(): boolean {
    return this.hdrComplete && this.hdr !== null && this.hdr.totalCount > 0
  }

  /**
   * Percentile (0–1) in ms, or null without timed requests. Locust formula on buckets
   * (stats.py `calculate_response_time_percentile`), clamped to the raw min/max like Locust's median.
   */
  percentileMs(fraction: number): number | null {
    if (this.timedCount <= 0 && this.buckets.size === 0) return null
    let value: number | null
    if (this.highResolution) {
      value = (this.hdr as LogHistogram).percentileMs(fraction * 100)
    } else {
      value = bucketPercentile(this.buckets, fraction)
    }
    if (value === null) return null
    if (value > this.maxResponseTimeMs && this.maxResponseTimeMs > 0) value = this.maxResponseTimeMs
    if (this.minResponseTimeMs !== null && value < this.minResponseTimeMs) value = this.minResponseTimeMs
    return value
  }
}

/** Adds a Horde histogram's values into Locust buckets (each at its read-back value, within 0.5 %). */
function addHistogramAsBuckets(buckets: Map<number, number>, histogram: LogHistogram): void {
  histogram.forEachValueUs((valueUs, count) => {
    const bucket = bucketResponseTime(valueUs / 1000)
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + count)
  })
}

/** Locust's percentile on a bucket map: walk from the largest bucket down until the rest is below the rank. */
export function bucketPercentile(buckets: ReadonlyMap<number, number>, fraction: number): number | null {
  let total = 0
  for (const count of buckets.values()) total += count
  if (total <= 0) return null
  const keys = [...buckets.keys()].sort((a, b) => b - a)
  const rank = Math.trunc(total * fraction + 1e-9)
  let processed = 0
  for (const key of keys) {
    processed += buckets.get(key) as number
    if (total - processed <= rank + 1e-9) return key
  }
  return keys[keys.length - 1] ?? null
}

/**
 * Histogram rows for the CSV and result.json: [bucket upper bound ms, count], ascending. A lean row's shares that
 * came with Horde histograms are bucketed from the histogram (each value within 0.5 %, then Locust's rounding).
 */
export function bucketHistogram(row: StatsRow): Array<[number, number]> {
  return [...row.locustBuckets().entries()]
    .filter(([, count]) => count > 0)
    .sort((a, b) => a[0] - b[0])
    .map(([bucket, count]) => [bucket, Math.round(count * 1000) / 1000])
}
