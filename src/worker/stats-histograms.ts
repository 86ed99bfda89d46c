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

type PerSecond = Map<number, Histogram>

/**
 * High-resolution response-time histograms for the Horde extension of the stats report, per endpoint and
 * completion second (so a Horde master can split a report at the warm-up edge and keep percentiles within
 * 0.5 % instead of Locust's 2-significant-digit buckets), plus one per second for all requests. In the open
 * model also the coordinated-omission-corrected times (response time + how late the iteration started).
 * Plain Locust masters ignore all of it.
 *
 * The encode every 3 s is incremental by construction: each histogram holds only its own second of the
 * interval, sparse, so encoding costs what was recorded since the last report (its non-empty buckets), never a
 * walk over a whole value range.
 */
export class StatsHistograms {
  private byEntry = new Map<StatsEntry, PerSecond>()
  private correctedByEntry = new Map<StatsEntry, PerSecond>()
  private bySecond: PerSecond = new Map()
  /** Set while the worker runs the open model. */
  openModel = false

  /** `clock`: the same clock as the RequestStats the entries come from, so both place a request in one second. */
  constructor(private readonly clock: () => number = Date.now) {}

  record(entry: StatsEntry, responseTimeMs: number | null, lagMs: number): void {
    if (responseTimeMs === null) return
    const second = Math.floor(this.clock() / 1000)
    recordResponseTimeMs(histogramFor(perSecondOf(this.byEntry, entry), second), responseTimeMs)
    recordResponseTimeMs(histogramFor(this.bySecond, second), responseTimeMs)
    if (this.openModel) {
      recordResponseTimeMs(
        histogramFor(perSecondOf(this.correctedByEntry, entry), second),
        responseTimeMs + lagMs,
      )
    }
  }

  /** The extension for the report being sent, then a reset (reports are deltas). */
  take(
    eventLoopDelayMaxMs: number | undefined,
    iterations: HordeIterationCounts[] = [],
    open?: HordeOpenModelState,
    poolWaitMaxMs = 0,
  ): HordeStatsExtension {
    const extension = encodeHordeExtension({
      entries: flatten(this.byEntry),
      seconds: [...this.bySecond].map(([second, histogram]) => ({ second, histogram })),
      correctedEntries: flatten(this.correctedByEntry),
      iterations,
      ...(open !== undefined ? { open } : {}),
      ...(eventLoopDelayMaxMs !== undefined ? { eventLoopDelayMaxMs } : {}),
      poolWaitMaxMs: Math.round(poolWaitMaxMs),
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

function flatten(map: Map<StatsEntry, PerSecond>) {
  return [...map].flatMap(([entry, perSecond]) =>
    [...perSecond].map(([second, histogram]) => ({
      method: entry.method,
      name: entry.name,
      second,
      histogram,
    })),
  )
}

function perSecondOf(map: Map<StatsEntry, PerSecond>, entry: StatsEntry): PerSecond {
  let perSecond = map.get(entry)
  if (perSecond === undefined) {
    perSecond = new Map()
    map.set(entry, perSecond)
  }
  return perSecond
}

function histogramFor<K>(map: Map<K, Histogram>, key: K): Histogram {
  let histogram = map.get(key)
  if (histogram === undefined) {
    histogram = createResponseTimeHistogram()
    map.set(key, histogram)
  }
  return histogram
}
