import { VERDICT_TEXT } from '../shared/verdict-text.js'
import { formatDurationMs } from '../shared/duration.js'
import type { Progress } from './coordinator.js'
import type { MasterRunResult } from './result-builder.js'
import { txProgressLine } from './tx-progress.js'

const fmt = (value: number | null, digits = 0): string => (value === null ? '-' : value.toFixed(digits))

const TOP_EXCEPTIONS = 5

/** One line per exception: its message and where it was thrown (the traceback's first frame). */
function exceptionHeadline(e: { msg: string; traceback: string }): string {
  const frame = e.traceback
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line.startsWith('at '))
  const msg = e.msg.split('\n')[0] ?? ''
  const text = frame === undefined ? msg : `${msg} (${frame})`
  return text.length > 200 ? `${text.slice(0, 197)}...` : text
}

/** JdbcRunner-style progress line, one per second: plain text, no cursor tricks, readable in CI logs. */
export function progressLine(progress: Progress): string {
  const elapsed = `${Math.floor(progress.elapsedMs / 1000)}s`.padStart(5)
  const tag = progress.warmup ? ' [warm-up]' : progress.phase === 'stopping' ? ' [stopping]' : ''
  // The open model has no users to show: the rate asked for and the rate achieved say whether it keeps up.
  const load =
    progress.open === undefined
      ? `users ${String(progress.users).padStart(4)}/${progress.targetUsers}`
      : `iterations/s ${fmt(progress.open.startedPerSec, 1).padStart(7)}/${fmt(progress.open.targetRps, 1)}` +
        (progress.open.droppedPerSec > 0 ? `  dropped/s ${fmt(progress.open.droppedPerSec, 1)}` : '')
  return (
    `[${elapsed}] ${load}` +
    `  rps ${fmt(progress.rps, 1).padStart(7)}  fail/s ${fmt(progress.failuresPerSec, 1).padStart(5)}` +
    (progress.exceptionsPerSec > 0 ? `  exc/s ${fmt(progress.exceptionsPerSec, 1)}` : '') +
    `  p95 ${`${fmt(progress.p95Ms)}ms`.padStart(7)}  workers ${progress.workers}${tag}` +
    (progress.tx === undefined ? '' : `\n${txProgressLine(elapsed, progress.tx)}`)
  )
}

/** Locust-style final table of the measured window, then thresholds and the verdict. */
export function summaryTable(result: MasterRunResult): string {
  const header = [
    'Type',
    'Name',
    '# reqs',
    '# fails',
    'Avg',
    'Min',
    'Max',
    'Med',
    'p95',
    'p99',
    'req/s',
    'fail/s',
  ]
  const rows = result.endpoints.map((e) => [
    e.method,
    e.name,
    String(e.requests),
    `${e.failures}(${e.requests > 0 ? ((e.failures / e.requests) * 100).toFixed(2) : '0.00'}%)`,
    fmt(e.avgMs),
    fmt(e.minMs),
    fmt(e.maxMs),
    fmt(e.p50Ms),
    fmt(e.p95Ms),
    fmt(e.p99Ms),
    e.rps.toFixed(2),
    e.failuresPerSec.toFixed(2),
  ])
  const t = result.totals
  const total = [
    '',
    'Aggregated',
    String(t.requests),
    `${t.failures}(${(t.failureRate * 100).toFixed(2)}%)`,
    fmt(t.avgMs),
    fmt(t.minMs),
    fmt(t.maxMs),
    fmt(t.p50Ms),
    fmt(t.p95Ms),
    fmt(t.p99Ms),
    t.rps.toFixed(2),
    (t.failures / Math.max(0.001, (result.measuredToMs - result.measuredFromMs) / 1000)).toFixed(2),
  ]
  const all = [header, ...rows, total]
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  const render = (r: string[]): string =>
    r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ')
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2))
  const lines = [render(header), rule, ...rows.map(render), rule, render(total)]
  const window = formatDurationMs(result.measuredToMs - result.measuredFromMs)
  const warm =
    result.config.warmupMs > 0 ? ` (after ${formatDurationMs(result.config.warmupMs)} warm-up)` : ''
  lines.unshift(
    `Measured window: ${window}${warm}; response times in ms; percentile error ≤ ${result.percentileErrorBound * 100} %`,
  )
  const om = result.openModel
  if (om !== null) {
    const c = om.correctedLatency
    lines.push(
      '',
      `Open model: ${om.achievedRps.toFixed(1)} of ${om.targetRps.toFixed(1)} iterations/s achieved, ` +
        `${om.droppedIterations} dropped (${(om.droppedRate * 100).toFixed(2)}%)`,
      `  from the intended start (coordinated omission corrected): med ${fmt(c.p50Ms)}  p95 ${fmt(c.p95Ms)}  p99 ${fmt(c.p99Ms)}  max ${fmt(c.maxMs)} ms`,
    )
  }
  if (result.errors.length > 0) {
    lines.push('', 'Errors:')
    for (const e of result.errors.slice(0, 10))
      lines.push(`  ${e.occurrences}x ${e.method} ${e.name}: ${e.error}`)
  }
  if (result.exceptions.length > 0) {
    const total = result.exceptions.reduce((sum, e) => sum + e.count, 0)
    const top = [...result.exceptions].sort((a, b) => b.count - a.count).slice(0, TOP_EXCEPTIONS)
    lines.push(
      '',
      `Exceptions in tasks: ${total} reported (each worker sends at most 50 a second), top ${top.length}:`,
    )
    for (const e of top) lines.push(`  ${e.count}x ${exceptionHeadline(e)}`)
  }
  if (result.thresholds.length > 0) {
    lines.push('', 'Thresholds:')
    for (const th of result.thresholds) {
      lines.push(
        `  ${th.ok ? 'ok  ' : 'FAIL'} ${th.metric} ${th.expression} (observed ${th.observed ?? 'no data'})` +
          (th.isDefault === true ? ' [default: the scenario declares no thresholds]' : ''),
      )
    }
  }
  return lines.join('\n')
}

/** The last line: the verdict and where the outputs are. */
export function verdictLine(result: MasterRunResult, outDir: string): string {
  const word = VERDICT_TEXT[result.verdict].label
  return `${word}: ${result.verdictReasons.join(' ')} Results in ${outDir}`
}
