import type { HordeStatsExtension } from '../protocol/horde-extension.js'
import { LogHistogram } from '../protocol/log-histogram.js'
import type { LatencySummary } from '../shared/result.js'

export interface IterationCounts {
  started: number
  dropped: number
}

interface CorrectedRow {
  method: string
  name: string
  histogram: LogHistogram
}

const round = (value: number): number => Math.round(value * 1000) / 1000

/**
 * What the open model adds to the merged stats: iterations started and dropped per second (from every Horde
 * worker's report), the target rate the master asked for each second, and the coordinated-omission-corrected
 * response times (from each iteration's intended start) of the measured window.
 */
export class OpenModelStats {
  readonly iterations = new Map<number, IterationCounts>()
  readonly targetRps = new Map<number, number>()
  private readonly corrected = new Map<string, CorrectedRow>()
  private readonly correctedTotal = new LogHistogram()
  /** Requests completing before this epoch second (the warm-up) stay out of the corrected figures. */
  measuredFromSec = 0

  add(extension: HordeStatsExtension): void {
    for (const counts of extension.iterations ?? []) {
      const entry = this.iterations.get(counts.second) ?? { started: 0, dropped: 0 }
      entry.started += counts.started
      entry.dropped += counts.dropped
      this.iterations.set(counts.second, entry)
    }
    for (const item of extension.correctedEntries ?? []) {
      if (item.second !== undefined && item.second < this.measuredFromSec) continue
      // Merged in place from the wire form (already validated with the extension): nothing is decoded.
      const key = `${item.method} ${item.name}`
      let row = this.corrected.get(key)
      if (row === undefined) {
        row = { method: item.method, name: item.name, histogram: new LogHistogram() }
        this.corrected.set(key, row)
      }
      row.histogram.addWire(item.hist)
      this.correctedTotal.addWire(item.hist)
    }
  }

  /** Started and dropped iterations over [fromSec, toSec). */
  countsBetween(fromSec: number, toSec: number): IterationCounts {
    let started = 0
    let dropped = 0
    for (const [second, counts] of this.iterations) {
      if (second < fromSec || second >= toSec) continue
      started += counts.started
      dropped += counts.dropped
    }
    return { started, dropped }
  }

  /** The corrected histogram of the rows a threshold or a summary looks at (null: nothing recorded). */
  correctedHistogram(filter: (method: string, name: string) => boolean = () => true): LogHistogram | null {
    let merged: LogHistogram | null = null
    for (const row of this.corrected.values()) {
      if (!filter(row.method, row.name)) continue
      // A fresh histogram, so merging for one question never changes the stored rows.
      merged ??= new LogHistogram()
      merged.add(row.histogram)
    }
    return merged
  }

  correctedSummary(filter?: (method: string, name: string) => boolean): LatencySummary {
    const h = filter === undefined ? this.correctedTotal : this.correctedHistogram(filter)
    if (h === null || h.totalCount === 0) {
      return {
        minMs: null,
        maxMs: null,
        avgMs: null,
        p50Ms: null,
        p90Ms: null,
        p95Ms: null,
        p99Ms: null,
        p999Ms: null,
      }
    }
    const p = (q: number) => round(h.percentileMs(q))
    return {
      minMs: round(h.minMs),
      maxMs: round(h.maxMs),
      avgMs: round(h.meanMs),
      p50Ms: p(50),
      p90Ms: p(90),
      p95Ms: p(95),
      p99Ms: p(99),
      p999Ms: p(99.9),
    }
  }

  /** Per endpoint, for result.json. */
  correctedEndpoints(): Array<{ method: string; name: string } & LatencySummary> {
    return [...this.corrected.values()].map((row) => ({
      method: row.method,
      name: row.name,
      ...this.correctedSummary((m, n) => m === row.method && n === row.name),
    }))
  }
}
