import {
  createResponseTimeHistogram,
  encodeHordeExtension,
  recordResponseTimeMs,
  type Histogram,
  type HordeStatsExtension,
} from '../protocol/horde-extension.js'
import type { StatsEntry } from './stats.js'

/**
 * High-resolution response-time histograms for the Horde extension of the stats report: one per endpoint
 * and one per completion second, so a Horde master gets percentiles within 0.1 % instead of Locust's
 * 2-significant-digit buckets. Plain Locust masters ignore them.
 */
export class StatsHistograms {
  private byEntry = new Map<StatsEntry, Histogram>()
  private bySecond = new Map<number, Histogram>()

  record(entry: StatsEntry, responseTimeMs: number | null): void {
    if (responseTimeMs === null) return
    let histogram = this.byEntry.get(entry)
    if (histogram === undefined) {
      histogram = createResponseTimeHistogram(32)
      this.byEntry.set(entry, histogram)
    }
    recordResponseTimeMs(histogram, responseTimeMs)
    const second = Math.floor(Date.now() / 1000)
    let perSecond = this.bySecond.get(second)
    if (perSecond === undefined) {
      perSecond = createResponseTimeHistogram(32)
      this.bySecond.set(second, perSecond)
    }
    recordResponseTimeMs(perSecond, responseTimeMs)
  }

  /** The extension for the report being sent, then a reset (reports are deltas). */
  take(eventLoopDelayMaxMs: number | undefined): HordeStatsExtension {
    const entries = [...this.byEntry].map(([entry, histogram]) => ({
      method: entry.method,
      name: entry.name,
      histogram,
    }))
    const seconds = [...this.bySecond].map(([second, histogram]) => ({ second, histogram }))
    this.byEntry = new Map()
    this.bySecond = new Map()
    return encodeHordeExtension({
      entries,
      seconds,
      ...(eventLoopDelayMaxMs !== undefined ? { eventLoopDelayMaxMs } : {}),
    })
  }

  clear(): void {
    this.byEntry = new Map()
    this.bySecond = new Map()
  }
}
