import type { TimePoint } from '../shared/result.js'
import type { Logger } from '../shared/logger.js'
import { unifiedServiceTags } from '../shared/datadog-tags.js'
import { openMetricsSink, tag, type MetricsSink, type StatsdTarget } from '../shared/statsd.js'
import type { StatsAggregator } from './aggregator.js'
import type { OpenModelStats } from './open-model-stats.js'
import { timePoint } from './result-builder.js'
import type { SecondBin } from './second-bin.js'
import { SentSeconds } from './sent-seconds.js'

/** What the sampler exposes: the per-second bins the result's time series is built from. */
export interface LiveMetricsSource {
  readonly aggregator: StatsAggregator
  readonly openStats: OpenModelStats | null
}

/**
 * Workers report every 3 s, so a second is complete about 4 s after it ended. Each second's metrics go out
 * this many seconds later, stamped with their own second (DogStatsD timestamps), so the dashboard shows the
 * same values as result.json's time series rather than a still-filling second. A report later than that
 * (a slow or stalled worker) changes a second already sent: that second is sent again, corrected (SentSeconds).
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
  readonly #sent = new SentSeconds()
  #corrections = 0

  private constructor(
    private readonly sink: MetricsSink,
    private readonly source: () => LiveMetricsSource | null,
    private readonly logger: Logger,
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
    return new LiveMetrics(sink, options.source, options.logger)
  }

  /**
   * Called by the per-second sampler with the second just sampled: sends again the recent seconds that late
   * reports changed (see SentSeconds), then the second that is now complete.
   */
  onSecond(second: number): void {
    const source = this.source()
    if (source === null) return
    const { aggregator, openStats } = source
    const due = second - LIVE_METRICS_LAG_SECONDS
    for (let s = due - RECHECK_SECONDS; s <= this.#lastSentSec; s++) {
      const bin = aggregator.seconds.get(s)
      if (!this.#sent.changed(s, bin, openStats)) continue
      const point = timePoint(bin, s, this.#sent.point(s - 1), s < aggregator.measuredFromSec, openStats)
      this.#corrections++
      this.#send(point, bin, openStats)
    }
    // The first seconds of the run (and any the master skipped while behind) go out in order.
    let from = this.#lastSentSec + 1
    if (!Number.isFinite(from)) {
      const seconds = [...aggregator.seconds.keys()]
      if (seconds.length === 0) return
      from = Math.min(...seconds)
    }
    for (let s = Math.max(from, due - 60); s <= due; s++) {
      const bin = aggregator.seconds.get(s)
      const point = timePoint(bin, s, this.#previous, s < aggregator.measuredFromSec, openStats)
      this.#send(point, bin, openStats)
      this.#previous = point
      this.#lastSentSec = s
    }
  }

  /**
   * At the end: every second of the run's final time series that was not sent, or was sent with other values
   * (a report that came later than the live corrections look back), then the socket closes. Afterwards the
   * last value Datadog holds for each second is result.json's.
   */
  async finish(timeSeries: readonly TimePoint[]): Promise<void> {
    for (const point of timeSeries) {
      if (!this.#sent.differs(point, metricValues)) continue
      if (point.timeMs / 1000 <= this.#lastSentSec) this.#corrections++
      this.#send(point, undefined, null)
    }
    if (this.#corrections > 0)
      this.logger.info(
        { corrections: this.#corrections },
        'sent seconds again that worker reports changed after they were first sent',
      )
    await this.sink.close()
  }

  #send(point: TimePoint, bin: SecondBin | undefined, open: OpenModelStats | null): void {
    const second = point.timeMs / 1000
    const values = metricValues(point)
    METRIC_ORDER.forEach((name, i) => {
      const value = values[i]
      if (value !== null && value !== undefined) this.sink.gauge(name, value, undefined, second)
    })
    this.#sent.record(point, bin, open)
  }
}

/** How far back each second's check for late reports looks; older changes go out at the end (finish). */
const RECHECK_SECONDS = 60

const METRIC_ORDER = [
  MASTER_METRICS.users,
  MASTER_METRICS.workers,
  MASTER_METRICS.rps,
  MASTER_METRICS.failuresPerSec,
  MASTER_METRICS.p50Ms,
  MASTER_METRICS.p95Ms,
  MASTER_METRICS.p99Ms,
  MASTER_METRICS.targetRps,
  MASTER_METRICS.achievedRps,
  MASTER_METRICS.droppedIterations,
] as const

/** A point's values in METRIC_ORDER; null or undefined ones are not sent. */
function metricValues(p: TimePoint): ReadonlyArray<number | null | undefined> {
  return [
    p.users,
    p.workers,
    p.rps,
    p.failuresPerSec,
    p.p50Ms,
    p.p95Ms,
    p.p99Ms,
    p.targetRps,
    p.iterationsStarted,
    p.droppedIterations,
  ]
}
