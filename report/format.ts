/**
 * Number and time formatting shared by the HTML report, the indexes and the job summary. Times are shown in
 * UTC with the zone written out, so a report reads the same from any laptop years later.
 */

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—'
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`
  if (ms >= 100) return `${Math.round(ms)} ms`
  if (ms >= 10) return `${ms.toFixed(1)} ms`
  return `${ms.toFixed(2)} ms`
}

/** One formatter for the process: toLocaleString builds a new one per call (the live dashboard formats often). */
const WHOLE = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  return WHOLE.format(Math.round(n))
}

export function formatRate(perSec: number | null | undefined): string {
  if (perSec === null || perSec === undefined || !Number.isFinite(perSec)) return '—'
  if (perSec >= 100) return WHOLE.format(Math.round(perSec))
  if (perSec >= 10) return perSec.toFixed(1)
  return perSec.toFixed(2)
}

export function formatPercent(ratio: number | null | undefined, digits = 2): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—'
  return `${(ratio * 100).toFixed(digits)} %`
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—'
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${Math.round(bytes)} B`
}

/** 2024-05-01 14:03:12 UTC */
export function formatTime(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined || !Number.isFinite(epochMs)) return '—'
  return `${new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

export function formatDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 16).replace('T', ' ')
}

/** 1h02m05s, 3m, 45s, 800ms */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—'
  if (ms < 1000) return `${Math.round(ms)}ms`
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const parts = [
    h > 0 ? `${h}h` : '',
    m > 0 ? `${String(m).padStart(h > 0 ? 2 : 1, '0')}m` : '',
    s > 0 ? `${s}s` : '',
  ]
  return parts.join('') || '0s'
}

/** A signed relative change, e.g. '+12.3 %'. */
export function formatDelta(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) return ''
  const pct = ratio * 100
  const digits = Math.abs(pct) >= 10 ? 0 : 1
  const text = pct.toFixed(digits)
  if (Number(text) === 0) return '±0 %'
  return `${pct > 0 ? '+' : ''}${text} %`
}
