import {
  createResponseTimeHistogram,
  encodeHordeExtension,
  recordResponseTimeMs,
  type Histogram,
  type HordeIterationCounts,
  type HordeOpenModelState,
  type HordeStatsExtension,
} from '../protocol/horde-extension.js'
import type { StatsEntry } from './stats.js'

/**
 * High-resolution response-time histograms for the Horde extension of the stats report: one per endpoint
 * and one per completion second, so a Horde master gets percentiles within 0.1 % instead of Locust's
 * 2-significant-digit buckets. In the open model also the coordinated-omission-corrected times (response
 * time + how late the iteration started). Plain Locust masters ignore all of it.
 */
export class StatsHistograms {
  /** Per endpoint and completion second, so a Horde master can split a report at the warm-up boundary. */
  private byEntry = new Map<StatsEntry, Map<number, Histogram>>()
  private correctedByEntry = new Map<StatsEntry, Histogram>()
  private bySecond = new Map<number, Histogram>()
  /** Set while the worker runs the open model. */
  openModel = false

  record(entry: StatsEntry, responseTimeMs: number | null, lagMs: number): void {
    if (responseTimeMs === null) return
    const second = Math.floor(Date.now() / 1000)
    let perSecond = this.byEntry.get(entry)
    if (perSecond === undefined) {
      perSecond = new Map()
      this.byEntry.set(entry, perSecond)
    }
    recordResponseTimeMs(histogramFor(perSecond, second), responseTimeMs)
    recordResponseTimeMs(histogramFor(this.bySecond, second), responseTimeMs)
    if (this.openModel)
      recordResponseTimeMs(histogramFor(this.correctedByEntry, entry), responseTimeMs + lagMs)
  }

  /** The extension for the report being sent, then a reset (reports are deltas). */
  take(
    eventLoopDelayMaxMs: number | undefined,
    iterations: HordeIterationCounts[] = [],
    open?: HordeOpenModelState,
  ): HordeStatsExtension {
    const perEntry = (map: Map<StatsEntry, Histogram>) =>
      [...map].map(([entry, histogram]) => ({ method: entry.method, name: entry.name, histogram }))
    const entries = [...this.byEntry].flatMap(([entry, perSecond]) =>
      [...perSecond].map(([second, histogram]) => ({
        method: entry.method,
        name: entry.name,
        second,
        histogram,
      })),
    )
    const extension = encodeHordeExtension({
      entries,
      seconds: [...this.bySecond].map(([second, histogram]) => ({ second, histogram })),
      correctedEntries: perEntry(this.correctedByEntry),
      iterations,
      ...(open !== undefined ? { open } : {}),
      ...(eventLoopDelayMaxMs !== undefined ? { eventLoopDelayMaxMs } : {}),
    })
    this.clear()
    return extension
  }

  clear(): void {
    this.byEntry = new Map()
    this.correctedByEntry = new Map()
    this.bySecond = new Map()
  }
}

function histogramFor<K>(map: Map<K, Histogram>, key: K): Histogram {
  let histogram = map.get(key)
  if (histogram === undefined) {
    histogram = createResponseTimeHistogram(32)
    map.set(key, histogram)
  }
  return histogram
}
