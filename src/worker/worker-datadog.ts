import type { Logger } from '../shared/logger.js'
import { unifiedServiceTags } from '../shared/datadog-tags.js'
import { openMetricsSink, tag, type MetricsSink, type StatsdTarget } from '../shared/statsd.js'
import type { HealthSample } from './health.js'
import type { Scenario } from './scenario-types.js'
import type { RequestTracer } from './tracing/request-tracer.js'
import { resolveTraceSettings, type TraceFlags } from './tracing/trace-settings.js'

/** Metric names a worker sends (the dashboard and monitors use them). */
export const WORKER_METRICS = {
  cpuPercent: 'horde.worker.cpu_percent',
  loopBlockedSeconds: 'horde.worker.loop_blocked_seconds',
} as const

/** What a worker sends to Datadog besides its logs: request traces and its own health as metrics. */
export interface WorkerDatadog {
  /** Set on the worker's HTTP transport; null when tracing is off. */
  readonly tracer: RequestTracer | null
  /** Called with each heartbeat's health sample (every second). */
  health(sample: HealthSample): void
  /** Flushes spans and closes the metrics socket, bounded. */
  close(): Promise<void>
}

/**
 * Starts what the settings ask for and nothing else: with tracing off dd-trace is never imported, with no
 * DogStatsD target no socket is opened.
 */
export async function startWorkerDatadog(options: {
  trace: TraceFlags
  statsd: StatsdTarget | null
  scenario: Scenario
  runId: string | null
  workerId: string
  log: Logger
}): Promise<WorkerDatadog> {
  const settings = resolveTraceSettings(options.trace, options.scenario)
  const context = { runId: options.runId, scenario: options.scenario.name, workerId: options.workerId }
  const tracer =
    settings === null
      ? null
      : await (await import('./tracing/request-tracer.js')).startRequestTracer(settings, context, options.log)
  let sink: MetricsSink | null = null
  if (options.statsd !== null) {
    const dd = unifiedServiceTags()
    sink = await openMetricsSink(
      options.statsd,
      [
        ...(options.runId !== null ? [tag('run_id', options.runId)] : []),
        tag('scenario', options.scenario.name),
        tag('worker_id', options.workerId),
        tag('env', dd.env),
        tag('service', dd.service),
        tag('version', dd.version),
      ],
      options.log,
    )
  }
  return {
    tracer,
    health(sample) {
      if (sink === null) return
      sink.gauge(WORKER_METRICS.cpuPercent, Math.round(sample.cpuPercent * 10) / 10)
      // The longest event-loop stall in the last second, in seconds: what froze every user of this worker.
      sink.gauge(WORKER_METRICS.loopBlockedSeconds, Math.round(sample.loopDelayMaxMs) / 1000)
    },
    async close() {
      await Promise.all([tracer?.flush(), sink?.close()])
    },
  }
}
