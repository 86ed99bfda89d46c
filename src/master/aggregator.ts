import type { StatsEntryWire, StatsErrorWire, StatsReport } from '../protocol/messages.js'
import {
  decodeHordeExtension,
  type HistogramWire,
  type HordeStatsExtension,
} from '../protocol/horde-extension.js'
import type { ErrorResult } from '../shared/result.js'
import { StatsRow, type EntryShare } from './stats-row.js'
import { SecondBin, rowKey, sumRows } from './second-bin.js'

export { SecondBin, rowKey } from './second-bin.js'

/**
 * Seconds older than this (behind the newest report's time) are sealed into summaries. Reports come every 3 s, so
 * 30 s leaves ten report intervals for a slow or briefly disconnected worker.
 */
export const SEAL_AFTER_SECONDS = 30

/** A window's rows and their total, as thresholds and outputs read them (live or from a snapshot). */
export interface WindowView {
  readonly rows: ReadonlyMap<string, StatsRow>
  readonly total: StatsRow
}

/** The aggregator's figures at the end of a run, copied out: nothing merges into them any more. */
export interface StatsSnapshot {
  readonly measured: WindowView
  readonly warmupTotal: StatsRow
  readonly seconds: ReadonlyMap<number, SecondBin>
  /** First epoch second of the measured window (-Infinity without warm-up). */
  readonly measuredFromSec: number
  readonly errors: readonly ErrorResult[]
  readonly requestsByWorker: ReadonlyMap<string, number>
}

/** Rows of one window (warm-up or measured) plus their total. */
export class StatsWindow implements WindowView {
  readonly rows = new Map<string, StatsRow>()
  #total: StatsRow | null = null

  /** All rows merged, as Locust's "Aggregated" line. Cached until the next report. */
  get total(): StatsRow {
    this.#total ??= sumRows(this.rows.values(), true)
    return this.#total
  }

  /** `key`: rowKey(method, name), when the caller already has it (one string per report entry, not per share). */
  row(method: string, name: string, key = rowKey(method, name)): StatsRow {
    this.#total = null
    let row = this.rows.get(key)
    if (row === undefined) {
      row = new StatsRow(method, name, true)
      this.rows.set(key, row)
    }
    return row
  }
}

interface EntryHistograms {
  whole: HistogramWire | null
  bySecond: Map<number, HistogramWire>
}

/**
 * Merges worker reports (deltas) into the warm-up and measured windows and a per-second time series. A request
 * counts in the window of the second in which it completed (Locust's per-second maps carry that second). When a
 * report straddles the warm-up boundary its counts are still split exactly; its response-time sums and buckets
 * are split in proportion to the requests on each side.
 */
export class StatsAggregator {
  readonly warmup = new StatsWindow()
  readonly measured = new StatsWindow()
  readonly seconds = new Map<number, SecondBin>()
  readonly errors = new Map<string, ErrorResult>()
  /** First epoch second of the measured window. */
  #measuredFromSec = Number.NEGATIVE_INFINITY
  /** Workers whose reports carried the Horde extension, for the percentile-resolution note in results. */
  readonly hordeWorkers = new Set<string>()
  readonly locustWorkers = new Set<string>()
  /** Worst event-loop delay each Horde worker reported (generator health). */
  readonly eventLoopDelayMaxMs = new Map<string, number>()
  /** Per worker: the worst wait for a pooled database connection since the last liveness check. */
  readonly poolWaitMaxMs = new Map<string, number>()
  /** Requests each worker reported (from its stats_total), to show that every worker carried load. */
  readonly requestsByWorker = new Map<string, number>()

  readonly #secondShare: EntryShare = { requests: 0, failures: 0, from: 0, to: 1 }
  readonly #oneWire: HistogramWire[] = []
  #sealCursor: number | null = null
  #newestSecond: number | null = null

  setMeasuredFromSec(second: number): void {
    this.#measuredFromSec = second
  }

  get measuredFromSec(): number {
    return this.#measuredFromSec
  }

  bin(second: number): SecondBin {
    let bin = this.seconds.get(second)
    if (bin === undefined) {
      bin = new SecondBin(second)
      this.seconds.set(second, bin)
      if (this.#newestSecond === null || second > this.#newestSecond) this.#newestSecond = second
    }
    return bin
  }

  /**
   * Merges one report. `extension`: the report's Horde extension, already decoded by the caller (decoding it is
   * the costly part; it is done once per report), or undefined to decode it here. Histograms are merged in place
   * from their wire form: the cost is linear in their non-empty buckets.
   */
  addReport(
    workerId: string,
    report: StatsReport,
    nowMs = Date.now(),
    extension: HordeStatsExtension | null = decodeHordeExtension(report.extra),
  ): void {
    const entryHistograms = new Map<string, EntryHistograms>()
    if (extension !== null) {
      this.hordeWorkers.add(workerId)
      for (const entry of extension.entries) {
        const key = rowKey(entry.method, entry.name)
        let histograms = entryHistograms.get(key)
        if (histograms === undefined) {
          histograms = { whole: null, bySecond: new Map() }
          entryHistograms.set(key, histograms)
        }
        if (entry.second === undefined) histograms.whole = entry.hist
        else histograms.bySecond.set(Math.trunc(entry.second), entry.hist)
      }
      for (const second of extension.seconds ?? [])
        this.bin(Math.trunc(second.second)).addHistogramWire(second.hist)
      if (extension.eventLoopDelayMaxMs !== undefined) {
        const previous = this.eventLoopDelayMaxMs.get(workerId) ?? 0
        this.eventLoopDelayMaxMs.set(workerId, Math.max(previous, extension.eventLoopDelayMaxMs))
      }
      if (extension.poolWaitMaxMs !== undefined) {
        const previous = this.poolWaitMaxMs.get(workerId) ?? 0
        this.poolWaitMaxMs.set(workerId, Math.max(previous, extension.poolWaitMaxMs))
      }
    } else if (report.stats.length > 0) {
      this.locustWorkers.add(workerId)
    }
    if (report.statsTotal.numRequests > 0) {
      this.requestsByWorker.set(
        workerId,
        (this.requestsByWorker.get(workerId) ?? 0) + report.statsTotal.numRequests,
      )
    }
    for (const entry of report.stats) {
      if (entry.numRequests === 0 && entry.numFailures === 0) continue
      const method = entry.method ?? ''
      const key = rowKey(method, entry.name)
      this.#addEntry(method, key, entry, entryHistograms.get(key) ?? null, nowMs)
    }
    for (const error of report.errors.values()) this.#addError(error)
    // Relative to the newest second a report carried (replayed or delayed data seal alike), but never past the
    // master's own clock: a worker whose clock runs ahead must not seal everyone else's live seconds.
    if (this.#newestSecond !== null) {
      this.sealBefore(Math.min(this.#newestSecond, Math.floor(nowMs / 1000)) - SEAL_AFTER_SECONDS)
    }
  }

  /** Seals every second before `second` (once each: a cursor walks forward). */
  sealBefore(second: number): void {
    if (this.#sealCursor === null) {
      if (this.seconds.size === 0) return
      this.#sealCursor = Math.min(...this.seconds.keys())
    }
    if (second - this.#sealCursor > 2 * this.seconds.size + 64) {
      // A jump (an idle gap, or a peer's clock far off): walk the bins rather than every second in between.
      for (const [key, bin] of this.seconds) if (key < second) bin.seal()
      this.#sealCursor = second
      return
    }
    for (; this.#sealCursor < second; this.#sealCursor++) this.seconds.get(this.#sealCursor)?.seal()
  }

  #addEntry(
    method: string,
    key: string,
    entry: StatsEntryWire,
    histograms: EntryHistograms | null,
    nowMs: number,
  ): void {
    const boundary = this.#measuredFromSec
    let reqBefore = 0
    let reqAfter = 0
    let failBefore = 0
    let failAfter = 0
    for (const [key, count] of entry.numReqsPerSec) {
      if (Number(key) < boundary) reqBefore += count
      else reqAfter += count
    }
    for (const [key, count] of entry.numFailPerSec) {
      if (Number(key) < boundary) failBefore += count
      else failAfter += count
    }
    // A worker that sent no per-second counts (not Locust behaviour) is placed by the report's time.
    if (reqBefore + reqAfter !== entry.numRequests) {
      const fallbackSecond = Math.trunc(entry.lastRequestTimestamp ?? nowMs / 1000)
      const missing = entry.numRequests - reqBefore - reqAfter
      if (fallbackSecond < boundary) reqBefore += missing
      else reqAfter += missing
    }
    if (failBefore + failAfter !== entry.numFailures) {
      failAfter += entry.numFailures - failBefore - failAfter
    }
    const total = Math.max(entry.numRequests, 1)
    const sides: Array<[StatsWindow, number, number]> = [
      [this.warmup, reqBefore, failBefore],
      [this.measured, reqAfter, failAfter],
    ]
    const bySecond = histograms?.bySecond
    const whole = histograms?.whole ?? null
    let cumulative = 0
    for (const [window, requests, failures] of sides) {
      const from = cumulative / total
      cumulative += requests
      if (requests === 0 && failures === 0) continue
      const isWhole = requests === entry.numRequests
      const share: EntryShare = isWhole
        ? { requests, failures, from: 0, to: 1 }
        : { requests, failures, from, to: cumulative / total }
      let wires: HistogramWire[] | null = null
      if (isWhole && whole !== null) wires = [whole]
      else if (bySecond !== undefined && bySecond.size > 0) {
        wires = this.#secondsOfSide(entry, window === this.measured, bySecond)
      }
      window.row(method, entry.name, key).addShare(entry, share, wires)
    }
    // One share object and one wire list for all of the entry's seconds (addShare keeps neither): this loop runs
    // for every endpoint and second of every report.
    let done = 0
    const share = this.#secondShare
    const one = this.#oneWire
    for (const [perSecKey, count] of entry.numReqsPerSec) {
      const second = Math.trunc(Number(perSecKey))
      share.requests = count
      share.failures = entry.numFailPerSec.get(perSecKey) ?? 0
      share.from = done / total
      share.to = (done + count) / total
      done += count
      const wire = bySecond?.get(second)
      if (wire !== undefined) one[0] = wire
      this.bin(second)
        .endpoint(method, entry.name, key)
        .addShare(entry, share, wire === undefined ? null : one)
    }
  }

  /** An entry's per-second histograms on one side of the warm-up boundary; null if one is missing. */
  #secondsOfSide(
    entry: StatsEntryWire,
    measured: boolean,
    bySecond: ReadonlyMap<number, HistogramWire>,
  ): HistogramWire[] | null {
    const wires: HistogramWire[] = []
    for (const key of entry.numReqsPerSec.keys()) {
      const second = Math.trunc(Number(key))
      if (second >= this.#measuredFromSec !== measured) continue
      const wire = bySecond.get(second)
      if (wire === undefined) return null
      wires.push(wire)
    }
    return wires
  }

  #addError(error: StatsErrorWire): void {
    const key = `${error.method}\u0000${error.name}\u0000${error.error}`
    const existing = this.errors.get(key)
    const firstSeenMs = error.firstSeen != null ? error.firstSeen * 1000 : null
    const lastSeenMs = error.lastSeen != null ? error.lastSeen * 1000 : null
    if (existing === undefined) {
      this.errors.set(key, {
        method: error.method ?? '',
        name: error.name,
        error: error.error,
        occurrences: error.occurrences,
        firstSeenMs,
        lastSeenMs,
      })
      return
    }
    existing.occurrences += error.occurrences
    if (firstSeenMs !== null && (existing.firstSeenMs === null || firstSeenMs < existing.firstSeenMs)) {
      existing.firstSeenMs = firstSeenMs
    }
    if (lastSeenMs !== null && (existing.lastSeenMs === null || lastSeenMs > existing.lastSeenMs)) {
      existing.lastSeenMs = lastSeenMs
    }
  }

  /** Copies the figures out (maps and error rows copied, totals computed) for the run's outcome. */
  snapshot(): StatsSnapshot {
    return Object.freeze({
      measured: Object.freeze({ rows: new Map(this.measured.rows), total: this.measured.total }),
      warmupTotal: this.warmup.total,
      seconds: new Map(this.seconds),
      measuredFromSec: this.#measuredFromSec,
      errors: [...this.errors.values()].map((error) => Object.freeze({ ...error })),
      requestsByWorker: new Map(this.requestsByWorker),
    })
  }

  /** Requests completed in seconds [from, to) (epoch s), all endpoints: live rate for progress lines. */
  requestsBetween(fromSec: number, toSec: number): { requests: number; failures: number } {
    let requests = 0
    let failures = 0
    for (let second = fromSec; second < toSec; second++) {
      const bin = this.seconds.get(second)
      if (bin === undefined) continue
      requests += bin.requests
      failures += bin.failures
    }
    return { requests, failures }
  }
}
