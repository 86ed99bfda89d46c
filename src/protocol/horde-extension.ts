/**
 * The Horde extension to Locust's `stats` report: high-resolution, mergeable response-time histograms that a
 * Horde worker adds under `report.extra.horde` (the top-level `horde` key on the wire). Plain Locust masters pass
 * unknown keys to report listeners and ignore them; the Horde master uses them instead of Locust's rounded
 * buckets (2 significant digits above 100 ms) when every contributor to a row sent them.
 *
 * Format (version 1), all fields required unless marked:
 * ```
 * horde: {
 *   v: 1,
 *   unit: 'us',               // histogram values are integer microseconds
 *   sigDigits: 3,             // HdrHistogram significant digits ⇒ relative error ≤ 0.1 %
 *   entries: [                // per stats entry of the same report (same interval, same (method, name)) ...
 *     { method: 'GET', name: '/results', hist: '<HdrHistogram V2 compressed base64>' },
 *                             // ... or, better, per (method, name, completion second): the master then splits
 *                             // a report that straddles the warm-up boundary exactly, and per-endpoint
 *                             // per-second percentiles are exact too. Do not mix both forms for one row.
 *     { method: 'POST', name: '/vote', second: 1767225600, hist: '<base64>' },
 *   ],
 *   seconds: [                // optional: all requests of the report per completion second (epoch s)
 *     { second: 1767225600, hist: '<base64>' },
 *   ],
 *   eventLoopDelayMaxMs: 12,  // optional: worst event-loop delay in the interval (generator health)
 * }
 * ```
 * The histograms come from `createResponseTimeHistogram()` / `recordResponseTimeMs()` below, so both ends agree
 * on range and precision. Error bound: HdrHistogram with 3 significant digits keeps every recorded value within
 * 0.1 % of its true value (values are also rounded to the microsecond), so any percentile read from a merged
 * histogram is within 0.1 % + 1 µs of the exact percentile of the raw samples. Locust's buckets are within ±5 %.
 */
import * as hdr from 'hdr-histogram-js'
import { z } from 'zod'

export type Histogram = hdr.Histogram

export const HORDE_EXTENSION_KEY = 'horde'
export const HORDE_EXTENSION_VERSION = 1
export const HISTOGRAM_SIGNIFICANT_DIGITS = 3
/** Stated relative error of percentiles from Horde histograms (3 significant digits). */
export const HORDE_PERCENTILE_ERROR_BOUND = 0.001
/** Stated relative error of percentiles from Locust buckets (rounded to 10/100/1000 above 100 ms). */
export const LOCUST_PERCENTILE_ERROR_BOUND = 0.05

/** One hour in microseconds: the histogram grows beyond it if needed (autoResize). */
const HIGHEST_TRACKABLE_US = 3_600_000_000

export interface HordeEntryHistogram {
  method: string
  name: string
  /** Epoch second in which these requests completed; absent when the histogram covers the whole report. */
  second?: number
  hist: string
}

export interface HordeSecondHistogram {
  second: number
  hist: string
}

export interface HordeStatsExtension {
  v: typeof HORDE_EXTENSION_VERSION
  unit: 'us'
  sigDigits: number
  entries: HordeEntryHistogram[]
  seconds?: HordeSecondHistogram[]
  eventLoopDelayMaxMs?: number
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
  startLagHist?: string
  paused: boolean
}

export interface HordeIterationCounts {
  second: number
  started: number
  dropped: number
}

/** A histogram with the range and precision both ends of the wire use. */
export function createResponseTimeHistogram(
  /** 32-bit counters record ~7× faster than 'packed' (74 vs 490 ns here): workers use them on the hot path. */
  bitBucketSize: 'packed' | 32 = 'packed',
): Histogram {
  return hdr.build({
    bitBucketSize,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: HISTOGRAM_SIGNIFICANT_DIGITS,
  })
}

/** Records a response time given in (fractional) milliseconds. */
export function recordResponseTimeMs(histogram: Histogram, responseTimeMs: number): void {
  histogram.recordValue(Math.max(0, Math.round(responseTimeMs * 1000)))
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram)
}

/** Decodes a histogram; null when the text is not a valid encoded histogram (never throws). */
export function decodeHistogram(text: string): Histogram | null {
  try {
    return hdr.decodeFromCompressedBase64(text, 'packed')
  } catch {
    return null
  }
}

/** Reads a percentile (0–100) in milliseconds. */
export function histogramPercentileMs(histogram: Histogram, percentile: number): number {
  return histogram.getValueAtPercentile(percentile) / 1000
}

/** Builds the extension value a Horde worker puts under `report.extra.horde`. */
export function encodeHordeExtension(input: {
  entries: Array<{ method: string; name: string; second?: number; histogram: Histogram }>
  seconds?: Array<{ second: number; histogram: Histogram }>
  eventLoopDelayMaxMs?: number
  correctedEntries?: Array<{ method: string; name: string; second?: number; histogram: Histogram }>
  iterations?: HordeIterationCounts[]
  open?: HordeOpenModelState
}): HordeStatsExtension {
  const extension: HordeStatsExtension = {
    v: HORDE_EXTENSION_VERSION,
    unit: 'us',
    sigDigits: HISTOGRAM_SIGNIFICANT_DIGITS,
    entries: input.entries.map((e) => ({
      method: e.method,
      name: e.name,
      ...(e.second !== undefined ? { second: e.second } : {}),
      hist: encodeHistogram(e.histogram),
    })),
  }
  if (input.seconds !== undefined) {
    extension.seconds = input.seconds.map((s) => ({ second: s.second, hist: encodeHistogram(s.histogram) }))
  }
  if (input.eventLoopDelayMaxMs !== undefined) extension.eventLoopDelayMaxMs = input.eventLoopDelayMaxMs
  if (input.correctedEntries !== undefined && input.correctedEntries.length > 0) {
    extension.correctedEntries = input.correctedEntries.map((e) => ({
      method: e.method,
      name: e.name,
      ...(e.second !== undefined ? { second: e.second } : {}),
      hist: encodeHistogram(e.histogram),
    }))
  }
  if (input.iterations !== undefined && input.iterations.length > 0) extension.iterations = input.iterations
  if (input.open !== undefined) extension.open = input.open
  return extension
}

const extensionSchema = z.object({
  v: z.literal(HORDE_EXTENSION_VERSION),
  unit: z.literal('us'),
  sigDigits: z.number().int().min(1).max(5),
  entries: z.array(
    z.object({ method: z.string(), name: z.string(), second: z.number().optional(), hist: z.string() }),
  ),
  seconds: z.array(z.object({ second: z.number(), hist: z.string() })).optional(),
  eventLoopDelayMaxMs: z.number().optional(),
  correctedEntries: z
    .array(
      z.object({ method: z.string(), name: z.string(), second: z.number().optional(), hist: z.string() }),
    )
    .optional(),
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
      startLagHist: z.string().optional(),
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
  const parsed = extensionSchema.safeParse(value instanceof Map ? mapToObject(value) : value)
  return parsed.success ? parsed.data : null
}

/** msgpackr may decode maps as Map when asked to keep integer keys; turn them back into plain objects. */
function mapToObject(value: unknown): unknown {
  if (value instanceof Map) {
    return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), mapToObject(v)]))
  }
  if (Array.isArray(value)) return value.map(mapToObject)
  return value
}
