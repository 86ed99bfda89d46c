import type { DashboardUpdate } from '../src/shared/dashboard-update.js'
import type { LiveState } from '../src/shared/live-state.js'
import type { RunResult } from '../src/shared/result.js'
import { chartData } from './chart-data.js'
import { formatCount, formatDuration, formatRate } from './format.js'
import { safeJson } from './safe-json.js'
import { renderSection, renderTemplate, type SectionName } from './templates.js'
import { buildReportView } from './view.js'

/**
 * The live dashboard a running master serves on its control API port: the report's own view model, sections
 * (templates/partials) and charts (charts.js), fed with the run so far. The page is rendered once per visit;
 * after that it polls `dashboard/data`, which carries the chart columns and the shared sections re-rendered on
 * the server (the master sends each viewer only what changed since its version: src/master/dashboard-delta.ts),
 * so every number on the page comes from the same code as the final report.
 */

/** Sections re-rendered on every update, in the order the page shows them. */
const LIVE_SECTIONS: ReadonlyArray<SectionName> = [
  'live-status',
  'kpis',
  'thresholds',
  'endpoints',
  'errors',
  'workers',
  'events',
]

/** Seconds at the end whose stats may still be arriving (workers report every 3 s): not the current rate. */
const RATE_LAG_POINTS = 4
const RATE_WINDOW_POINTS = 5

function recentRps(result: RunResult): number | null {
  const settled = result.timeSeries.slice(0, Math.max(0, result.timeSeries.length - RATE_LAG_POINTS))
  // Only seconds with load in them: the ramp's first empty seconds are not "recent throughput".
  const window = settled.filter((p) => p.users > 0).slice(-RATE_WINDOW_POINTS)
  if (window.length === 0) return null
  return window.reduce((a, p) => a + p.rps, 0) / window.length
}

function liveView(result: RunResult, live: LiveState) {
  const base = buildReportView(result, { downloads: [] })
  const byId = new Map(base.workers.map((w) => [w.id, w]))
  // Every worker the master knows, healthy or not, with its state now and its peaks so far.
  const workers = live.workers.map((w) => {
    const peak = byId.get(w.id)
    return {
      ...(peak ?? {
        id: w.id,
        kind: '—',
        cpu: '—',
        cpuPct: 0,
        cpuCls: 'good',
        memory: '—',
        saturated: '0',
        missing: '0',
        unhealthy: false,
      }),
      state: w.state,
      users: w.users,
      cpuNow: `${Math.round(w.cpuPercent)} %`,
      unhealthy:
        (peak?.unhealthy ?? false) ||
        (w.state !== 'running' && w.state !== 'ready' && w.state !== 'spawning'),
    }
  })
  const rps = recentRps(result)
  const status = {
    phase: live.paused && live.phase === 'running' ? 'paused' : live.phase,
    elapsed: formatDuration(live.elapsedMs),
    users: formatCount(live.users),
    targetUsers: formatCount(live.targetUsers),
    rps: rps === null ? '—' : formatRate(rps),
    targetRps: live.targetRps === null ? null : formatRate(live.targetRps),
    workers: live.workers.filter((w) => w.state !== 'missing').length,
    controlNeedsToken: live.controlNeedsToken,
  }
  return {
    ...base,
    // The live table has no downloads and no baseline; its events are the newest first.
    events: [...base.events].reverse(),
    workers,
    liveWorkers: true,
    status,
  }
}

/**
 * While the run goes on, its newest seconds are still arriving (workers report every 3 s): drawn, they would
 * dip to zero at the right edge every second. Charts stop at the last settled second; totals include everything.
 */
const UNSETTLED_MS = 3000
function settledChart(result: RunResult, live: LiveState) {
  if (live.phase === 'done') return chartData(result, undefined)
  const until = Date.now() - UNSETTLED_MS
  return chartData(
    { ...result, timeSeries: result.timeSeries.filter((p) => p.timeMs + 1000 <= until) },
    undefined,
  )
}

/** The initial page; `nonce` marks our scripts for the Content-Security-Policy the server sends. */
export type { LiveState }

export function renderDashboardPage(result: RunResult, live: LiveState, nonce: string): string {
  const view = liveView(result, live)
  return renderTemplate('dashboard', {
    ...view,
    nonce,
    title: `${result.config.scenario} · live · Horde`,
    dataJson: safeJson({ chart: settledChart(result, live), status: view.status }),
  })
}

/** One update for every viewer: the chart columns and the shared sections, rendered. */
export function renderDashboardData(result: RunResult, live: LiveState): DashboardUpdate {
  const view = liveView(result, live)
  const sections: Record<string, string> = {}
  for (const name of LIVE_SECTIONS) sections[name] = renderSection(name, view)
  return { chart: { ...settledChart(result, live) }, status: view.status, sections }
}
