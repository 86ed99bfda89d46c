import { parseStatsdTarget, statsdEnv, type StatsdTarget } from '../shared/statsd.js'
import { parseTraceFlags, resolveTraceSettings, type TraceFlags } from '../worker/tracing/trace-settings.js'
import type { Scenario } from '../worker/scenario-types.js'
import { flagOrEnv } from './flags.js'

/** The Datadog flags of `horde run`, `horde master` and `horde worker`. */
export const DATADOG_FLAGS = {
  trace: { type: 'boolean' },
  'trace-sample': { type: 'string' },
  statsd: { type: 'string' },
} as const

export const DATADOG_FLAGS_HELP = `Datadog (all off by default):
  --trace                 workers send a client span per request to the Datadog agent (dd-trace) and Datadog +
                          W3C trace headers, so the target's spans join (HORDE_TRACE=1; the scenario's
                          trace: { sample } also turns it on); agent from DD_TRACE_AGENT_URL / DD_AGENT_HOST
  --trace-sample S        share of requests traced, 0 < S ≤ 1 (HORDE_TRACE_SAMPLE, default 0.01)
  --statsd HOST:PORT      live metrics over DogStatsD/UDP every second (HORDE_STATSD; else DD_AGENT_HOST
                          with DD_DOGSTATSD_PORT, default 8125)`

export interface DatadogSettings {
  readonly trace: TraceFlags
  readonly statsd: StatsdTarget | null
  /** The sample the workers trace at (flags, environment or scenario), null when tracing is off. */
  readonly traceSample: number | null
}

/** Validated before any load: a bad sample or statsd address exits 104 naming the flag. */
export function parseDatadogSettings(values: Record<string, unknown>): Omit<DatadogSettings, 'traceSample'> {
  return Object.freeze({
    trace: parseTraceFlags(values.trace === true, flagOrEnv(values, 'trace-sample', 'HORDE_TRACE_SAMPLE')),
    statsd: parseStatsdTarget(typeof values.statsd === 'string' ? values.statsd : undefined),
  })
}

/** The master's view, once the scenario is loaded: does the run trace, and at what sample (for result.json). */
export function withScenario(
  settings: Omit<DatadogSettings, 'traceSample'>,
  scenario: Pick<Scenario, 'trace'>,
): DatadogSettings {
  return Object.freeze({
    ...settings,
    traceSample: resolveTraceSettings(settings.trace, scenario)?.sample ?? null,
  })
}

/** What `horde run` hands its local workers so they trace and send metrics as the command line asked. */
export function datadogWorkerEnv(
  settings: Omit<DatadogSettings, 'traceSample'>,
  runId: string,
): Record<string, string> {
  return {
    HORDE_RUN_ID: runId,
    ...(settings.trace.on ? { HORDE_TRACE: '1' } : {}),
    ...(settings.trace.sample !== null ? { HORDE_TRACE_SAMPLE: String(settings.trace.sample) } : {}),
    ...statsdEnv(settings.statsd),
  }
}
