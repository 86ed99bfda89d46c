/**
 * The Horde extension to Locust's `stats` report: high-resolution, mergeable response-time histograms that a
 * Horde worker adds under `report.extra.horde` (the top-level `horde` key on the wire). Plain Locust masters pass
 * unknown keys to report listeners and ignore them; the Horde master uses them instead of Locust's rounded
 * buckets (2 significant digits above 100 ms) when every contributor to a row sent them.
 *
 * Format (version 3), all fields required unless marked; `<h>` is a log-bucket histogram in wire form, a
 * msgpack bin of varints (`minUs, maxUs, sumUs, zeroCount, count, lastIndex, i0, c0, Δi1, c1, …`, see
 * log-histogram.ts):
 * ```
 * horde: {
 *   v: 3,
 *   unit: 'us',               // histogram values are integer microseconds
 *   alpha: 0.005,             // relative error of every value read back from a histogram (0.5 %)
 *   entries: [                // rows of four, per stats entry of the same report and completion second:
 *     'GET', '/results', null, <h>,          // method, name, null: the histogram covers the whole report ...
 *     'POST', '/vote', 1767225600, <h>,      // ... or, better, one completion second (epoch s): the master then
 *                             // splits a report that straddles the warm-up boundary exactly, and per-endpoint
 *                             // per-second percentiles are exact too. Do not mix both forms for one row.
 *   ],
 *   seconds: [                // optional: all requests of the report per completion second, rows of two
 *     1767225600, <h>,
 *   ],
 *   eventLoopDelayMaxMs: 12,  // optional: worst event-loop delay in the interval (generator health)
 *   poolWaitMaxMs: 40,        // optional: worst wait for a pooled database connection (generator health)
 *   correctedEntries: [...],  // optional, open model: coordinated-omission-corrected times, rows as `entries`
 *   iterations: [{ second, started, dropped }, ...], open: { ... },   // optional, open model
 * }
 * ```
 * Rows are flat arrays, not a map per row: a report carries one row per endpoint and second (150 at 50
 * endpoints), and a map each cost the master's decoder four keys and an object per row.
 * Version 1 carried HdrHistogram compressed base64 (3–6 ms to decode and add each on the master: issue 9),
 * version 2 a map per row and each histogram as a msgpack array of integers (decoded number by number). A master meets a version
 * it does not know by ignoring the extension (Locust buckets then) with a warning.
 *
 * Error bound: every value read back from a histogram, or from any merge of them, is within α = 0.5 % of the
 * values its bucket holds, so every percentile is within 0.5 % (+ 0.5 µs of rounding) of the exact percentile of
 * the raw samples. Locust's buckets are within ±5 %.
 */
import { z } from 'zod'
import { LOG_HISTOGRAM_RELATIVE_ERROR, LogHistogram, isLogHistogramWire } from './log-histogram.js'

export { LogHistogram } from './log-histogram.js'
export type Histogram = LogHistogram
/** A histogram in wire form (see log-histogram.ts). */
export type HistogramWire = Uint8Array

export const HORDE_EXTENSION_KEY = 'horde'
export const HORDE_EXTENSION_VERSION = 3
/** Stated relative error of percentiles from Horde histograms. */
export const HORDE_PERCENTILE_ERROR_BOUND = LOG_HISTOGRAM_RELATIVE_ERROR
/** Stated relative error of percentiles from Locust buckets (rounded to 10/100/1000 above 100 ms). */
export const LOCUST_PERCENTILE_ERROR_BOUND = 0.05

export interface HordeEntryHistogram {
  method: string
  name: string
  /** Epoch second in which these requests completed; absent when the histogram covers the whole report. */
  second?: number
  hist: HistogramWire
}

export interface HordeSecondHistogram {
  second: number
  hist: HistogramWire
}

/** `entries` on the wire: rows of four, method, name, completion second or null, histogram. */
export type HordeRowsWire = Array<string | number | null | HistogramWire>
/** `seconds` on the wire: rows of two, completion second, histogram. */
export type HordeSecondsWire = Array<number | HistogramWire>

/** What a worker puts under `extra.horde` (rows flat, see the module comment). */
export type HordeStatsExtensionWire = Omit<
  HordeStatsExtension,
  'entries' | 'seconds' | 'correctedEntries'
> & {
  entries: HordeRowsWire
  seconds?: HordeSecondsWire
  correctedEntries?: HordeRowsWire
}

/** The extension as the master reads it, rows as objects. */
export interface HordeStatsExtension {
  v: typeof HORDE_EXTENSION_VERSION
  unit: 'us'
  alpha: number
  entries: HordeEntryHistogram[]
  seconds?: HordeSecondHistogram[]
  eventLoopDelayMaxMs?: number
  /** Worst wait for a database connection from the worker's own pools in the interval (db.postgres/db.mysql). */
  poolWaitMaxMs?: number
  /**
   * Open model only: response times measured from each iteration's intended start (coordinated omission
   * corrected, as wrk2 does), per (method, name), same encoding as `entries`.
   */
  correctedEntries?: HordeEntryHistogram[]
  /** Open model only: iterations started and dropped (no free slot in the pool) per epoch second. */
  iterations?: HordeIterationCounts[]
  /** Open model only: the worker's state at report time. */
  open?: HordeOpenModelState
}

export interface HordeOpenModelState {
  /** This worker's share of the target rate now (iterations/s). */
  targetRps: number
  inFlight: number
  maxInFlight: number
  /** Worst lateness of an iteration start against its schedule in the interval (ms): scheduler jitter. */
  maxStartLagMs: number
  /** Lateness of every iteration start against its schedule in the interval (µs, encoded histogram). */
  startLagHist?: HistogramWire
  paused: boolean
}

export interface HordeIterationCounts {
  second: number
  started: number
  dropped: number
}

/** A histogram with the buckets both ends of the wire use. */
export function createResponseTimeHistogram(): Histogram {
  return new LogHistogram()
}

/** Records a response time given in (fractional) milliseconds. */
export function recordResponseTimeMs(histogram: Histogram, responseTimeMs: number): void {
  histogram.recordMs(responseTimeMs)
}

export function encodeHistogram(histogram: Histogram): HistogramWire {
  return histogram.toWire()
}

/** Decodes a histogram; null when the value is not a valid histogram (never throws). */
export function decodeHistogram(wire: unknown): Histogram | null {
  return isLogHistogramWire(wire) ? LogHistogram.fromWire(wire) : null
}

/** Reads a percentile (0–100) in milliseconds. */
export function histogramPercentileMs(histogram: Histogram, percentile: number): number {
  return histogram.percentileMs(percentile)
}

/** Appends one `entries` row: method, name, second (null: the whole report), histogram. */
export function pushHordeRow(
  rows: HordeRowsWire,
  method: string,
  name: string,
  second: number | undefined,
  histogram: Histogram,
): void {
  rows.push(method, name, second ?? null, encodeHistogram(histogram))
}

/** Builds the extension value a Horde worker puts under `report.extra.horde`. */
export function encodeHordeExtension(input: {
  entries: Array<{ method: string; name: string; second?: number; histogram: Histogram }>
  seconds?: Array<{ second: number; histogram: Histogram }>
  eventLoopDelayMaxMs?: number
  poolWaitMaxMs?: number
  correctedEntries?: Array<{ method: string; name: string; second?: number; histogram: Histogram }>
  iterations?: HordeIterationCounts[]
  open?: HordeOpenModelState
}): HordeStatsExtensionWire {
  const rows = (list: NonNullable<typeof input.correctedEntries>): HordeRowsWire => {
    const out: HordeRowsWire = []
    for (const e of list) pushHordeRow(out, e.method, e.name, e.second, e.histogram)
    return out
  }
  const extension: HordeStatsExtensionWire = {
    v: HORDE_EXTENSION_VERSION,
    unit: 'us',
    alpha: LOG_HISTOGRAM_RELATIVE_ERROR,
    entries: rows(input.entries),
  }
  if (input.seconds !== undefined) {
    extension.seconds = input.seconds.flatMap((s) => [s.second, encodeHistogram(s.histogram)])
  }
  if (input.eventLoopDelayMaxMs !== undefined) extension.eventLoopDelayMaxMs = input.eventLoopDelayMaxMs
  if (input.poolWaitMaxMs !== undefined && input.poolWaitMaxMs > 0)
    extension.poolWaitMaxMs = input.poolWaitMaxMs
  if (input.correctedEntries !== undefined && input.correctedEntries.length > 0) {
    extension.correctedEntries = rows(input.correctedEntries)
  }
  if (input.iterations !== undefined && input.iterations.length > 0) extension.iterations = input.iterations
  if (input.open !== undefined) extension.open = input.open
  return extension
}

/** Checked by a loop rather than per-element zod: it runs over every number of every report. */
const histogramWire = z.custom<HistogramWire>(isLogHistogramWire, {
  message:
    'a histogram must be bytes of varints: minUs, maxUs, sumUs, zeroCount, count, lastIndex, index, count, ...',
})

/** Everything but the row lists, which a loop checks (isRowList, isSecondList). */
const extensionRestSchema = z.object({
  v: z.literal(HORDE_EXTENSION_VERSION),
  unit: z.literal('us'),
  alpha: z.number().positive().max(0.05),
  eventLoopDelayMaxMs: z.number().optional(),
  poolWaitMaxMs: z.number().optional(),
  iterations: z
    .array(
      z.object({ second: z.number(), started: z.number().int().min(0), dropped: z.number().int().min(0) }),
    )
    .optional(),
  open: z
    .object({
      targetRps: z.number(),
      inFlight: z.number(),
      maxInFlight: z.number(),
      maxStartLagMs: z.number(),
      startLagHist: histogramWire.optional(),
      paused: z.boolean(),
    })
    .optional(),
})

/**
 * Validates what a peer sent under `extra.horde`. Returns null for anything else (a Locust worker, a future
 * version), so the master falls back to Locust's buckets; never throws.
 */
export function decodeHordeExtension(extra: Record<string, unknown> | undefined): HordeStatsExtension | null {
  const value = extra?.[HORDE_EXTENSION_KEY]
  if (value === undefined || value === null) return null
  const object: unknown = value instanceof Map ? mapToObject(value) : value
  if (!isPlainObject(object)) return null
  // The row lists (one row per endpoint and second: most of every report) are checked by a loop and turned into
  // objects as they are checked; zod, which copies every item it checks, sees only the few other fields.
  const { entries, seconds, correctedEntries, ...rest } = object
  const entryRows = rowsFromWire(entries)
  if (entryRows === null) return null
  const secondRows = seconds === undefined ? undefined : secondsFromWire(seconds)
  if (secondRows === null) return null
  const correctedRows = correctedEntries === undefined ? undefined : rowsFromWire(correctedEntries)
  if (correctedRows === null) return null
  const parsed = extensionRestSchema.safeParse(rest)
  if (!parsed.success) return null
  const extension: HordeStatsExtension = { ...parsed.data, entries: entryRows }
  if (secondRows !== undefined) extension.seconds = secondRows
  if (correctedRows !== undefined) extension.correctedEntries = correctedRows
  return extension
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `entries` rows (method: string, name: string, second: finite number or null, histogram), or null. */
function rowsFromWire(value: unknown): HordeEntryHistogram[] | null {
  if (!Array.isArray(value) || value.length % 4 !== 0) return null
  const rows: HordeEntryHistogram[] = []
  for (let i = 0; i < value.length; i += 4) {
    const method: unknown = value[i]
    const name: unknown = value[i + 1]
    const second: unknown = value[i + 2]
    const hist: unknown = value[i + 3]
    if (typeof method !== 'string' || typeof name !== 'string') return null
    if (second !== null && !(typeof second === 'number' && Number.isFinite(second))) return null
    if (!isLogHistogramWire(hist)) return null
    rows.push(second === null ? { method, name, hist } : { method, name, second, hist })
  }
  return rows
}

/** `seconds` rows (second: finite number, histogram), or null. */
function secondsFromWire(value: unknown): HordeSecondHistogram[] | null {
  if (!Array.isArray(value) || value.length % 2 !== 0) return null
  const rows: HordeSecondHistogram[] = []
  for (let i = 0; i < value.length; i += 2) {
    const second: unknown = value[i]
    const hist: unknown = value[i + 1]
    if (!(typeof second === 'number' && Number.isFinite(second)) || !isLogHistogramWire(hist)) return null
    rows.push({ second, hist })
  }
  return rows
}

/**
 * What a peer's extension says its version is, when it is one this master does not read (a newer or an older
 * Horde worker): the caller warns once and uses Locust's buckets for that peer. Null when the version is ours or
 * there is no extension.
 */
export function unknownHordeExtensionVersion(extra: Record<string, unknown> | undefined): unknown {
  const value: unknown = extra?.[HORDE_EXTENSION_KEY]
  if (value === undefined || value === null) return null
  const version: unknown = value instanceof Map ? value.get('v') : (value as { v?: unknown }).v
  return version === HORDE_EXTENSION_VERSION ? null : (version ?? 'missing')
}

/** msgpackr may decode maps as Map when asked to keep integer keys; turn them back into plain objects. */
function mapToObject(value: unknown): unknown {
  if (value instanceof Map) {
    return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), mapToObject(v)]))
  }
  if (Array.isArray(value)) return value.map(mapToObject)
  return value
}
