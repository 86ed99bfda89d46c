import type { RunResult, Verdict } from '../src/shared/result.js'
import { downsample, sparklineSvg } from './chart-data.js'
import { formatCount, formatDate, formatDuration, formatMs, formatPercent, formatRate } from './format.js'
import { parseRunResult, slug } from './load.js'
import { renderTemplate } from './templates.js'
import type { Store } from './store/store.js'

/**
 * Run history: one small summary.json per run (written beside result.json), from which the per-scenario and
 * top-level indexes are rebuilt. When a summary is missing it is derived from result.json again, so the
 * stored results are the source of truth and a lost index (or summary) is always recoverable.
 */
export interface RunSummary {
  summaryVersion: 1
  runId: string
  scenario: string
  /** The run's folder relative to the store base: `<scenario>/<run-id>`. */
  dir: string
  verdict: Verdict
  reason: string
  startedAtMs: number
  durationMs: number
  users: number | null
  targetRps: number | null
  workers: number
  requests: number
  rps: number
  p50Ms: number | null
  p95Ms: number | null
  p99Ms: number | null
  failureRate: number
  gitCommit: string | null
  /** Achieved requests/s over the run, at most 40 points, for the row sparkline. */
  rpsTrend: Array<number | null>
}

export function summarize(result: RunResult, dir: string): RunSummary {
  return {
    summaryVersion: 1,
    runId: result.runId,
    scenario: result.config.scenario,
    dir,
    verdict: result.verdict,
    reason: result.verdictReasons[0] ?? '',
    startedAtMs: result.startedAtMs,
    durationMs: result.endedAtMs - result.startedAtMs,
    users: result.config.users,
    targetRps: result.config.targetRps,
    workers: result.config.workers,
    requests: result.totals.requests,
    rps: result.totals.rps,
    p50Ms: result.totals.p50Ms,
    p95Ms: result.totals.p95Ms,
    p99Ms: result.totals.p99Ms,
    failureRate: result.totals.failureRate,
    gitCommit: result.config.gitCommit,
    rpsTrend: downsample(
      result.timeSeries.map((p) => p.rps),
      40,
    ),
  }
}

export const runDir = (result: Pick<RunResult, 'runId' | 'config'>): string =>
  `${slug(result.config.scenario)}/${slug(result.runId)}`

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i] as T)
      }
    }),
  )
  return out
}

export interface ReadSummariesOptions {
  /** Write summary.json back where it had to be derived from result.json. */
  repair?: boolean
  warn?: (message: string) => void
  /** A run folder to leave out (the run being reported: its result.json may be tens of MB). */
  exclude?: string
}

/**
 * Summaries of the runs stored at `<prefix><run>/` (prefix '' or 'scenario/'); with prefix undefined, of
 * every `<scenario>/<run>/` in the store.
 */
export async function readRunSummaries(
  store: Store,
  prefix: string | undefined,
  options: ReadSummariesOptions = {},
): Promise<RunSummary[]> {
  const depth = prefix === undefined ? 3 : prefix.split('/').filter(Boolean).length + 2
  const keys = await store.list(prefix ?? '', { maxDepth: depth })
  const runs = new Map<string, { summary: boolean; result: boolean }>()
  for (const key of keys) {
    const parts = key.split('/')
    if (parts.length !== depth) continue
    const file = parts.at(-1)
    if (file !== 'summary.json' && file !== 'result.json') continue
    const dir = parts.slice(0, -1).join('/')
    const entry = runs.get(dir) ?? { summary: false, result: false }
    entry[file === 'summary.json' ? 'summary' : 'result'] = true
    runs.set(dir, entry)
  }
  if (options.exclude !== undefined) runs.delete(options.exclude)
  const summaries = await mapLimit(
    [...runs.entries()],
    16,
    async ([dir, has]): Promise<RunSummary | null> => {
      if (has.summary) {
        try {
          const s = JSON.parse(
            (await store.get(`${dir}/summary.json`))?.toString('utf8') ?? 'null',
          ) as RunSummary | null
          if (s !== null && s.summaryVersion === 1 && typeof s.runId === 'string') return { ...s, dir }
        } catch {
          // fall through to result.json
        }
      }
      if (!has.result) return null
      try {
        const body = await store.get(`${dir}/result.json`)
        if (body === null) return null
        const summary = summarize(
          parseRunResult(body.toString('utf8'), `${store.location}/${dir}/result.json`),
          dir,
        )
        if (options.repair) await store.put(`${dir}/summary.json`, JSON.stringify(summary))
        return summary
      } catch (error) {
        options.warn?.(`skipping ${store.location}/${dir}: ${(error as Error).message}`)
        return null
      }
    },
  )
  return summaries.filter((s): s is RunSummary => s !== null).sort((a, b) => b.startedAtMs - a.startedAtMs)
}

const VERDICT_LABEL: Record<Verdict, string> = {
  pass: 'pass',
  fail: 'fail',
  invalid: 'invalid',
  stopped: 'stopped',
}

function runRow(s: RunSummary, hrefPrefix: string) {
  return {
    href: `${hrefPrefix}${s.dir.split('/').at(-1) ?? ''}/index.html`,
    date: formatDate(s.startedAtMs),
    dateV: s.startedAtMs,
    runId: s.runId,
    verdict: s.verdict,
    verdictLabel: VERDICT_LABEL[s.verdict],
    reason: s.reason,
    load: s.targetRps !== null ? `${formatRate(s.targetRps)} req/s` : `${formatCount(s.users)} users`,
    loadV: s.targetRps ?? s.users ?? 0,
    workers: s.workers,
    rps: formatRate(s.rps),
    rpsV: s.rps,
    p95: formatMs(s.p95Ms),
    p95V: s.p95Ms ?? -1,
    p99: formatMs(s.p99Ms),
    p99V: s.p99Ms ?? -1,
    failures: formatPercent(s.failureRate),
    failuresV: s.failureRate,
    failuresBad: s.failureRate > 0.01,
    duration: formatDuration(s.durationMs),
    commit: s.gitCommit?.slice(0, 8) ?? '',
    spark: sparklineSvg(s.rpsTrend, { width: 90, height: 20 }),
  }
}

function trend(
  label: string,
  runs: RunSummary[],
  pick: (s: RunSummary) => number | null,
  fmt: (v: number | null) => string,
) {
  const oldestFirst = [...runs].reverse().slice(-60)
  return {
    label,
    latest: fmt(runs[0] === undefined ? null : pick(runs[0])),
    svg: sparklineSvg(oldestFirst.map(pick), { width: 240, height: 44, zero: false, stretch: true }),
  }
}

export function renderScenarioIndex(runs: RunSummary[]): string {
  const latest = runs[0]
  const passed = runs.filter((r) => r.verdict === 'pass').length
  return renderTemplate('scenario-index', {
    scenario: latest?.scenario ?? 'unknown',
    count: runs.length,
    passed,
    failed: runs.length - passed,
    trends: [
      trend('p95 response time', runs, (s) => s.p95Ms, formatMs),
      trend('Throughput (req/s)', runs, (s) => s.rps, formatRate),
      trend(
        'Failure rate',
        runs,
        (s) => s.failureRate,
        (v) => formatPercent(v),
      ),
    ],
    runs: runs.map((s) => runRow(s, '')),
    generatedAt: formatDate(Date.now()),
  })
}

export function renderRootIndex(byScenario: Map<string, RunSummary[]>): string {
  const scenarios = [...byScenario.entries()]
    .map(([dir, runs]) => {
      const latest = runs[0]
      return {
        href: `${dir}/index.html`,
        name: latest?.scenario ?? dir,
        count: runs.length,
        latestDate: latest === undefined ? '' : formatDate(latest.startedAtMs),
        latestV: latest?.startedAtMs ?? 0,
        verdict: latest?.verdict ?? 'stopped',
        latestHref: latest === undefined ? '' : `${latest.dir}/index.html`,
        p95: formatMs(latest?.p95Ms),
        rps: formatRate(latest?.rps),
        passRate: formatPercent(
          runs.filter((r) => r.verdict === 'pass').length / Math.max(1, runs.length),
          0,
        ),
        spark: sparklineSvg(
          [...runs]
            .reverse()
            .slice(-30)
            .map((r) => r.p95Ms),
          { width: 120, height: 22, zero: false },
        ),
      }
    })
    .sort((a, b) => b.latestV - a.latestV)
  return renderTemplate('root-index', { scenarios, generatedAt: formatDate(Date.now()) })
}

export interface RebuildResult {
  scenarios: number
  runs: number
  /** Keys written. */
  written: string[]
}

/**
 * Rebuilds `<scenario>/index.html` for every scenario (or only `onlyScenario`) and the top-level
 * index.html, from what is stored. Safe to run at any time; the only input is the stored results.
 */
export async function rebuildIndexes(
  store: Store,
  options: ReadSummariesOptions & { onlyScenario?: string } = {},
): Promise<RebuildResult> {
  const all = await readRunSummaries(store, undefined, options)
  const byScenario = new Map<string, RunSummary[]>()
  for (const s of all) {
    const dir = s.dir.split('/')[0] ?? ''
    const list = byScenario.get(dir) ?? []
    list.push(s)
    byScenario.set(dir, list)
  }
  const written: string[] = []
  await mapLimit([...byScenario.entries()], 8, async ([dir, runs]) => {
    if (options.onlyScenario !== undefined && dir !== options.onlyScenario) return
    await store.put(`${dir}/index.html`, renderScenarioIndex(runs))
    written.push(`${dir}/index.html`)
  })
  await store.put('index.html', renderRootIndex(byScenario))
  written.push('index.html')
  return { scenarios: byScenario.size, runs: all.length, written }
}
