import type { TimePoint } from '../shared/result.js'
import type { Logger } from '../shared/logger.js'
import { unifiedServiceTags } from '../shared/datadog-tags.js'
import { openMetricsSink, tag, type MetricsSink, type StatsdTarget } from '../shared/statsd.js'
import type { StatsAggregator } from './aggregator.js'
import type { OpenModelStats } from './open-model-stats.js'
import { timePoint } from './result-builder.js'

/** What the sampler exposes: the per-second bins the result's time series is built from. */
export interface LiveMetricsSource {
  readonly aggregator: StatsAggregator
  readonly openStats: OpenModelStats | null
}

/**
 * Workers report every 3 s, so a second is complete about 4 s after it ended. Each second's metrics go out
 * this many seconds later, stamped with their own second (DogStatsD timestamps), so the dashboard shows the
 * same values as result.json's time series rather than a still-filling second.
 */
export const LIVE_METRICS_LAG_SECONDS = 6

/** Metric names, one place: the dashboard (manifests/datadog/dashboard.json) and monitors use these. */
export const MASTER_METRICS = {
  users: 'horde.users',
  workers: 'horde.workers',
  rps: 'horde.rps',
  failuresPerSec: 'horde.failures_per_sec',
  p50Ms: 'horde.latency.p50_ms',
  p95Ms: 'horde.latency.p95_ms',
  p99Ms: 'horde.latency.p99_ms',
  targetRps: 'horde.target_rps',
  achievedRps: 'horde.achieved_rps',
  droppedIterations: 'horde.dropped_iterations',
} as const

/**
 * Live metrics of a run through DogStatsD: every second the master sends users, workers, rps, failures/s,
 * p50/p95/p99 of that second and, in the open model, target vs achieved rate and dropped iterations; tagged
 * with the run id, scenario and the unified service tags. Off unless a target is given (--statsd /
 * DD_AGENT_HOST).
 */
export class LiveMetrics {
  #lastSentSec = Number.NEGATIVE_INFINITY
  #previous: TimePoint | undefined

  private constructor(
    private readonly sink: MetricsSink,
    private readonly source: () => LiveMetricsSource | null,
  ) {}

  static async start(options: {
    target: StatsdTarget
    runId: string
    scenario: string
    logger: Logger
    /** The coordinator, once it exists (the hook is wired before it starts). */
    source: () => LiveMetricsSource | null
  }): Promise<LiveMetrics> {
    const dd = unifiedServiceTags()
    const sink = await openMetricsSink(
      options.target,
      [
        tag('run_id', options.runId),
        tag('scenario', options.scenario),
        tag('env', dd.env),
        tag('service', dd.service),
        tag('version', dd.version),
      ],
      options.logger,
    )
    options.logger.info(
      { statsd: `${options.target.host}:${options.target.port}`, lagSeconds: LIVE_METRICS_LAG_SECONDS },
      'sending live metrics to DogStatsD',
    )
    return new LiveMetrics(sink, options.source)
  }

  /** Called by the per-second sampler with the second just sampled: sends the second that is now complete. */
  onSecond(second: number): void {
    const source = this.source()
    if (source === null) return
    const due = second - LIVE_METRICS_LAG_SECONDS
    // The first seconds of the run (and any the master skipped while behind) go out in order.
    let from = this.#lastSentSec + 1
    if (!Number.isFinite(from)) {
      const seconds = [...source.aggregator.seconds.keys()]
      if (seconds.length === 0) return
      from = Math.min(...seconds)
    }
    for (let s = Math.max(from, due - 60); s <= due; s++) {
      const point = timePoint(
        source.aggregator.seconds.get(s),
        s,
        this.#previous,
        s < source.aggregator.measuredFromSec,
        source.openStats,
      )
      this.#send(point)
    }
  }

  /** At the end: the seconds not yet sent, from the run's final time series, then the socket closes. */
  async finish(timeSeries: readonly TimePoint[]): Promise<void> {
    for (const point of timeSeries) if (point.timeMs / 1000 > this.#lastSentSec) this.#send(point)
    await this.sink.close()
  }

  #send(point: TimePoint): void {
    const second = point.timeMs / 1000
    const gauge = (name: string, value: number | null | undefined): void => {
      if (value !== null && value !== undefined) this.sink.gauge(name, value, undefined, second)
    }
    gauge(MASTER_METRICS.users, point.users)
    gauge(MASTER_METRICS.workers, point.workers)
    gauge(MASTER_METRICS.rps, point.rps)
    gauge(MASTER_METRICS.failuresPerSec, point.failuresPerSec)
    gauge(MASTER_METRICS.p50Ms, point.p50Ms)
    gauge(MASTER_METRICS.p95Ms, point.p95Ms)
    gauge(MASTER_METRICS.p99Ms, point.p99Ms)
    gauge(MASTER_METRICS.targetRps, point.targetRps)
    gauge(MASTER_METRICS.achievedRps, point.iterationsStarted)
    gauge(MASTER_METRICS.droppedIterations, point.droppedIterations)
    this.#previous = point
    this.#lastSentSec = second
  }
}
