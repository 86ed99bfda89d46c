import type { RunResult } from '../src/shared/result.js'
import { eventStyle, type EventStyle } from './event-style.js'
import { txChartData, type TxChartData } from './db-summary.js'

/**
 * The data that feeds the inline charts, packed as columns (uPlot's native shape) with x in seconds since
 * the start. Kept small: a one-hour run is ~3600 points × 9 series; per-endpoint series are not shipped
 * to the browser, only pre-drawn sparklines.
 */
export interface ChartData {
  startMs: number
  t: number[]
  rps: number[]
  fps: number[]
  p50: Array<number | null>
  p95: Array<number | null>
  p99: Array<number | null>
  users: number[]
  workers: number[]
  target: Array<number | null> | null
  dropped: Array<number | null> | null
  /** [from, to] in seconds since start. */
  warmup: Array<[number, number]>
  /** Markers, each with its style from the one event-style table (report/event-style.ts). */
  events: Array<{ t: number; kind: string; cls: EventStyle; msg: string }>
  hist: Distribution | null
  baselineHist: Distribution | null
  /** Database runs: tps per transaction type per second (null otherwise). */
  tx: TxChartData | null
}

export interface Distribution {
  /** Bin upper bounds, ms. */
  x: number[]
  /** Share of requests in the bin, %. */
  share: number[]
  /** Cumulative share up to the bin's upper bound, %. */
  cdf: number[]
}

/** Events that say something about the run's shape; the rest stay in the events table. */
const MARKED = new Set([
  'worker-joined',
  'worker-missing',
  'worker-removed',
  'worker-recovered',
  'worker-saturated',
  'master-behind',
  'stage-started',
  'spawn-complete',
  'threshold-aborted',
  'paused',
  'resumed',
  'retargeted',
  'stop-requested',
])
const MAX_MARKERS = 200

export function chartData(result: RunResult, baseline: RunResult | undefined): ChartData {
  const start = result.startedAtMs
  const ts = result.timeSeries
  const sec = (ms: number): number => Math.round((ms - start) / 100) / 10
  const openModel = ts.some((p) => p.targetRps !== undefined || p.droppedIterations !== undefined)
  const warmup: Array<[number, number]> = []
  let from: number | null = null
  for (const p of ts) {
    if (p.warmup && from === null) from = sec(p.timeMs)
    if (!p.warmup && from !== null) {
      warmup.push([from, sec(p.timeMs)])
      from = null
    }
  }
  if (from !== null) warmup.push([from, sec((ts.at(-1)?.timeMs ?? start) + 1000)])
  if (warmup.length === 0 && result.config.warmupMs > 0 && ts.length === 0)
    warmup.push([0, result.config.warmupMs / 1000])

  const events = result.events
    .filter((e) => MARKED.has(e.kind) && !(e.kind === 'worker-joined' && e.timeMs - start < 2000))
    .slice(0, MAX_MARKERS)
    .map((e) => ({
      t: sec(e.timeMs),
      kind: e.kind,
      cls: eventStyle(e.kind),
      msg: e.message.length > 60 ? `${e.message.slice(0, 57)}…` : e.message,
    }))

  return {
    startMs: start,
    t: ts.map((p) => sec(p.timeMs)),
    rps: ts.map((p) => p.rps),
    fps: ts.map((p) => p.failuresPerSec),
    p50: ts.map((p) => p.p50Ms),
    p95: ts.map((p) => p.p95Ms),
    p99: ts.map((p) => p.p99Ms),
    users: ts.map((p) => p.users),
    workers: ts.map((p) => p.workers),
    target: openModel ? ts.map((p) => p.targetRps ?? null) : null,
    dropped: openModel ? ts.map((p) => p.droppedIterations ?? null) : null,
    warmup,
    events,
    hist: distribution(result.histogram, null),
    baselineHist: baseline === undefined ? null : distribution(baseline.histogram, result.histogram),
    tx: txChartData(result),
  }
}

const BINS_PER_DECADE = 16

/**
 * Re-bins a high-resolution histogram (HDR can have thousands of buckets) into log-spaced bins, so the
 * chart is readable and the page small. With `alignTo`, uses the same range as that histogram.
 */
export function distribution(
  histogram: Array<[number, number]>,
  alignTo: Array<[number, number]> | null,
): Distribution | null {
  const total = histogram.reduce((a, [, c]) => a + c, 0)
  const ref = alignTo ?? histogram
  const nonEmpty = ref.filter(([ub, c]) => c > 0 && ub > 0)
  if (total === 0 || nonEmpty.length === 0) return null
  const lo = Math.floor(Math.log10(nonEmpty[0]?.[0] ?? 1) * BINS_PER_DECADE)
  const hi = Math.ceil(Math.log10(nonEmpty.at(-1)?.[0] ?? 1) * BINS_PER_DECADE)
  const x: number[] = []
  for (let i = lo; i <= Math.max(hi, lo + 1); i++)
    x.push(Number(Math.pow(10, i / BINS_PER_DECADE).toPrecision(3)))
  const counts = new Array<number>(x.length).fill(0)
  for (const [ub, c] of histogram) {
    let i = Math.ceil(Math.log10(Math.max(ub, 1e-6)) * BINS_PER_DECADE - 1e-9) - lo
    i = Math.min(Math.max(i, 0), x.length - 1)
    counts[i] = (counts[i] ?? 0) + c
  }
  let cum = 0
  const share: number[] = []
  const cdf: number[] = []
  for (const c of counts) {
    cum += c
    share.push(Number(((c / total) * 100).toFixed(3)))
    cdf.push(Number(((cum / total) * 100).toFixed(3)))
  }
  return { x, share, cdf }
}

/**
 * A tiny inline SVG line, drawn on the server from numbers only (never from run text), so it is safe to
 * insert unescaped and needs no script.
 */
export function sparklineSvg(
  values: ReadonlyArray<number | null>,
  options: {
    width?: number
    height?: number
    cls?: string
    title?: string
    zero?: boolean
    stretch?: boolean
  } = {},
): string {
  const w = options.width ?? 96
  const h = options.height ?? 22
  const pts = values
    .map((v, i) => [i, v] as const)
    .filter((p): p is readonly [number, number] => p[1] !== null && Number.isFinite(p[1]))
  if (pts.length < 2) return ''
  const max = Math.max(...pts.map((p) => p[1]))
  const lowest = Math.min(...pts.map((p) => p[1]))
  // Zero-based by default (honest). Trends across runs use the data's own range so a drift shows, but
  // never less than ±12.5 % of the value, so two nearly equal runs do not look like a cliff.
  const range = Math.max(max - lowest, Math.abs(max) * 0.25)
  const min = options.zero === false ? (max + lowest) / 2 - range * 0.6 : Math.min(0, lowest)
  const span = (options.zero === false ? range * 1.2 : max - min) || 1
  const n = values.length - 1 || 1
  const coords = pts.map(
    ([i, v]) => `${((i / n) * (w - 2) + 1).toFixed(1)},${(h - 1 - ((v - min) / span) * (h - 2)).toFixed(1)}`,
  )
  const last = coords.at(-1)?.split(',') ?? ['0', '0']
  return `<svg class="spark ${options.cls ?? ''}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"${options.stretch ? ' preserveAspectRatio="none"' : ''} aria-hidden="true"><polyline points="${coords.join(' ')}" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linejoin="round" vector-effect="non-scaling-stroke"/>${options.stretch ? '' : `<circle cx="${last[0]}" cy="${last[1]}" r="1.8" fill="currentColor"/>`}</svg>`
}

/** Downsamples a series to at most `n` points by averaging (max for latency would exaggerate noise). */
export function downsample(values: ReadonlyArray<number | null>, n: number): Array<number | null> {
  if (values.length <= n) return [...values]
  const out: Array<number | null> = []
  const step = values.length / n
  for (let i = 0; i < n; i++) {
    let sum = 0
    let count = 0
    for (let j = Math.floor(i * step); j < Math.floor((i + 1) * step); j++) {
      const v = values[j]
      if (v !== null && v !== undefined) {
        sum += v
        count++
      }
    }
    out.push(count === 0 ? null : Number((sum / count).toFixed(2)))
  }
  return out
}
