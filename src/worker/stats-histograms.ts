import {
  HORDE_EXTENSION_VERSION,
  HORDE_PERCENTILE_ERROR_BOUND,
  createResponseTimeHistogram,
  encodeHistogram,
  recordResponseTimeMs,
  type Histogram,
  pushHordeRow,
  type HordeIterationCounts,
  type HordeOpenModelState,
  type HordeRowsWire,
  type HordeSecondsWire,
  type HordeStatsExtensionWire,
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
 * Encoding is incremental: each histogram holds only its own second, sparse, and a second's histograms are
 * encoded to wire form once, when the first request of a later second is recorded. The report every 3 s then
 * encodes only the second still in progress (a third of the work, no longer in one go: at 200 endpoints and
 * 10,000 req/s the whole encode took 2.6–12 ms at report time, a pause in the open model's schedule).
 */
export class StatsHistograms {
  private byEntry = new Map<StatsEntry, PerSecond>()
  private correctedByEntry = new Map<StatsEntry, PerSecond>()
  private bySecond: PerSecond = new Map()
  /** Seconds already encoded, waiting for the next report. */
  private sealedEntries: HordeRowsWire = []
  private sealedCorrected: HordeRowsWire = []
  private sealedSeconds: HordeSecondsWire = []
  /** The newest second recorded: older ones are complete and get encoded. */
  private openSecond = Number.NEGATIVE_INFINITY
  /** Set while the worker runs the open model. */
  openModel = false

  /** `clock`: the same clock as the RequestStats the entries come from, so both place a request in one second. */
  constructor(private readonly clock: () => number = Date.now) {}

  record(entry: StatsEntry, responseTimeMs: number | null, lagMs: number): void {
    if (responseTimeMs === null) return
    let second = Math.floor(this.clock() / 1000)
    if (second > this.openSecond) {
      if (this.openSecond !== Number.NEGATIVE_INFINITY) this.sealBefore(second)
      this.openSecond = second
    } else if (second < this.openSecond) {
      // A clock stepped back: a sealed second cannot take more samples, the open one can (the master then
      // uses Locust's buckets for the mismatch, as for any histogram that disagrees with the counts).
      second = this.openSecond
    }
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
  ): HordeStatsExtensionWire {
    this.sealBefore(Number.POSITIVE_INFINITY)
    const extension: HordeStatsExtensionWire = {
      v: HORDE_EXTENSION_VERSION,
      unit: 'us',
      alpha: HORDE_PERCENTILE_ERROR_BOUND,
      entries: this.sealedEntries,
      seconds: this.sealedSeconds,
    }
    if (eventLoopDelayMaxMs !== undefined) extension.eventLoopDelayMaxMs = eventLoopDelayMaxMs
    if (this.sealedCorrected.length > 0) extension.correctedEntries = this.sealedCorrected
    if (iterations.length > 0) extension.iterations = iterations
    if (open !== undefined) extension.open = open
    this.sealedEntries = []
    this.sealedCorrected = []
    this.sealedSeconds = []
    // Worst wait for a pooled database connection: generator health, like the loop delay.
    if (poolWaitMaxMs > 0) extension.poolWaitMaxMs = Math.round(poolWaitMaxMs)
    return extension
  }

  clear(): void {
    this.byEntry = new Map()
    this.correctedByEntry = new Map()
    this.bySecond = new Map()
    this.sealedEntries = []
    this.sealedCorrected = []
    this.sealedSeconds = []
  }

  /** Encodes and drops every histogram of a second before `second`. */
  private sealBefore(second: number): void {
    sealEntries(this.byEntry, second, this.sealedEntries)
    sealEntries(this.correctedByEntry, second, this.sealedCorrected)
    for (const [s, histogram] of this.bySecond) {
      if (s >= second) continue
      this.sealedSeconds.push(s, encodeHistogram(histogram))
      this.bySecond.delete(s)
    }
  }
}

function sealEntries(map: Map<StatsEntry, PerSecond>, before: number, out: HordeRowsWire): void {
  for (const [entry, perSecond] of map) {
    for (const [second, histogram] of perSecond) {
      if (second >= before) continue
      pushHordeRow(out, entry.method, entry.name, second, histogram)
      perSecond.delete(second)
    }
    if (perSecond.size === 0) map.delete(entry)
  }
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
