import { createHash } from 'node:crypto'
import { bucketResponseTime } from '../protocol/buckets.js'
import type { StatsEntryWire, StatsErrorWire } from '../protocol/messages.js'

/**
 * Locust-compatible request statistics for one worker, kept as deltas since the last report (Locust's
 * stats.py semantics: §4 of locust-protocol.md). Hot path: `log` runs once per request, so it does two Map
 * lookups and a few additions, and allocates nothing once an endpoint and second have been seen.
 */
export class StatsEntry {
  numRequests = 0
  numNoneRequests = 0
  numFailures = 0
  totalResponseTime = 0
  maxResponseTime = 0
  minResponseTime: number | null = null
  totalContentLength = 0
  lastRequestTimestamp: number | null = null
  startTime: number
  responseTimes = new Map<number, number>()
  numReqsPerSec = new Map<number, number>()
  numFailPerSec = new Map<number, number>()

  constructor(
    readonly name: string,
    readonly method: string,
    nowSec: number,
  ) {
    this.startTime = nowSec
  }

  log(responseTimeMs: number | null, bytes: number, failed: boolean, nowMs: number): void {
    const second = Math.floor(nowMs / 1000)
    this.numRequests++
    this.numReqsPerSec.set(second, (this.numReqsPerSec.get(second) ?? 0) + 1)
    this.lastRequestTimestamp = nowMs / 1000
    this.totalContentLength += bytes
    if (failed) {
      this.numFailures++
      this.numFailPerSec.set(second, (this.numFailPerSec.get(second) ?? 0) + 1)
    }
    if (responseTimeMs === null) {
      this.numNoneRequests++
      return
    }
    this.totalResponseTime += responseTimeMs
    if (responseTimeMs > this.maxResponseTime) this.maxResponseTime = responseTimeMs
    if (this.minResponseTime === null || responseTimeMs < this.minResponseTime)
      this.minResponseTime = responseTimeMs
    const bucket = bucketResponseTime(responseTimeMs)
    this.responseTimes.set(bucket, (this.responseTimes.get(bucket) ?? 0) + 1)
  }

  get isEmpty(): boolean {
    return this.numRequests === 0 && this.numFailures === 0
  }

  toWire(): StatsEntryWire {
    return {
      name: this.name,
      method: this.method,
      lastRequestTimestamp: this.lastRequestTimestamp,
      startTime: this.startTime,
      numRequests: this.numRequests,
      numNoneRequests: this.numNoneRequests,
      numFailures: this.numFailures,
      totalResponseTime: this.totalResponseTime,
      maxResponseTime: this.maxResponseTime,
      minResponseTime: this.minResponseTime,
      totalContentLength: this.totalContentLength,
      responseTimes: this.responseTimes,
      numReqsPerSec: this.numReqsPerSec,
      numFailPerSec: this.numFailPerSec,
    }
  }
}

interface ErrorRow {
  method: string
  name: string
  error: string
  occurrences: number
  firstSeen: number
  lastSeen: number
}

export interface StatsDelta {
  stats: StatsEntryWire[]
  statsTotal: StatsEntryWire
  errors: Map<string, StatsErrorWire>
  /** The entries themselves, for extensions that need more than the Locust fields. */
  entries: StatsEntry[]
}

/** Where requests are recorded. The HTTP client, `measure` and `record` all write here. */
export interface Recorder {
  /** `lagMs`: open model only, how late the iteration started (for the coordinated-omission-corrected time). */
  log(
    method: string,
    name: string,
    responseTimeMs: number | null,
    bytes: number,
    error: string | null,
    lagMs?: number,
  ): void
}

export class RequestStats implements Recorder {
  private byName = new Map<string, Map<string, StatsEntry>>()
  private total: StatsEntry
  private errors = new Map<string, ErrorRow>()
  /** Called for every logged request after the Locust bookkeeping (e.g. a high-resolution histogram). */
  onLog: ((entry: StatsEntry, responseTimeMs: number | null, failed: boolean, lagMs: number) => void) | null =
    null
  /** Requests and failures since this worker started, never reset: the heartbeat's live counts. */
  readonly live = { requests: 0, failures: 0 }

  constructor(private readonly clock: () => number = Date.now) {
    this.total = new StatsEntry('Aggregated', '', clock() / 1000)
  }

  log(
    method: string,
    name: string,
    responseTimeMs: number | null,
    bytes: number,
    error: string | null,
    lagMs = 0,
  ): void {
    const nowMs = this.clock()
    let methods = this.byName.get(name)
    if (methods === undefined) {
      methods = new Map()
      this.byName.set(name, methods)
    }
    let entry = methods.get(method)
    if (entry === undefined) {
      entry = new StatsEntry(name, method, this.total.startTime)
      methods.set(method, entry)
    }
    const failed = error !== null
    this.live.requests++
    if (failed) this.live.failures++
    entry.log(responseTimeMs, bytes, failed, nowMs)
    this.total.log(responseTimeMs, bytes, failed, nowMs)
    if (failed) this.logError(method, name, error, nowMs / 1000)
    if (this.onLog !== null) this.onLog(entry, responseTimeMs, failed, lagMs)
  }

  private logError(method: string, name: string, error: string, nowSec: number): void {
    // Cheap local key; the SHA-256 key Locust uses is computed once per row at report time.
    const localKey = `${method}\u0000${name}\u0000${error}`
    const row = this.errors.get(localKey)
    if (row === undefined) {
      this.errors.set(localKey, { method, name, error, occurrences: 1, firstSeen: nowSec, lastSeen: nowSec })
    } else {
      row.occurrences++
      row.lastSeen = nowSec
    }
  }

  /** Everything logged since the previous call, then a reset: reports are deltas (P11). */
  takeDelta(): StatsDelta {
    const nowSec = this.clock() / 1000
    const entries: StatsEntry[] = []
    for (const methods of this.byName.values()) {
      for (const entry of methods.values()) if (!entry.isEmpty) entries.push(entry)
    }
    const errors = new Map<string, StatsErrorWire>()
    for (const row of this.errors.values()) {
      errors.set(locustErrorKey(row.method, row.name, row.error), {
        name: row.name,
        method: row.method,
        error: row.error,
        occurrences: row.occurrences,
        firstSeen: row.firstSeen,
        lastSeen: row.lastSeen,
      })
    }
    const delta: StatsDelta = {
      stats: entries.map((e) => e.toWire()),
      statsTotal: this.total.toWire(),
      errors,
      entries,
    }
    // Fresh objects rather than clearing in place: the delta above still references the old maps.
    this.byName = new Map()
    this.total = new StatsEntry('Aggregated', '', nowSec)
    this.errors = new Map()
    return delta
  }

  /** Drops everything (a new test starts: Locust clears stats on the first spawn). */
  clear(): void {
    this.byName = new Map()
    this.total = new StatsEntry('Aggregated', '', this.clock() / 1000)
    this.errors = new Map()
  }
}

/** Locust's error key: sha256 of "<method>.<name>.<error>" (stats.py create_key), so rows merge across workers. */
export function locustErrorKey(method: string, name: string, error: string): string {
  return createHash('sha256').update(`${method}.${name}.${error}`).digest('hex')
}
