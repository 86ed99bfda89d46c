import { ConfigError, describeValue } from '../../shared/errors.js'
import { parseDecimalNumber } from '../../shared/numbers.js'

/** Tracing is on: the share of requests that get a span (and trace headers), 0 < sample ≤ 1. */
export interface TraceSettings {
  readonly sample: number
}

/**
 * With tracing on and no sample given, 1 % of requests are traced: a load test sends far more requests than
 * anyone reads traces of, and each traced one costs the worker a span and the Datadog account an ingested
 * trace. A small test that wants every request traced says `--trace-sample 1`.
 */
export const DEFAULT_TRACE_SAMPLE = 0.01

/** What the command line and environment say (`--trace`, HORDE_TRACE, `--trace-sample`, HORDE_TRACE_SAMPLE). */
export interface TraceFlags {
  /** --trace or HORDE_TRACE=1|true. */
  readonly on: boolean
  /** --trace-sample / HORDE_TRACE_SAMPLE, validated. */
  readonly sample: number | null
}

export function parseTraceFlags(
  flag: boolean,
  sampleText: string | undefined,
  env = process.env,
): TraceFlags {
  const envText = env.HORDE_TRACE?.trim().toLowerCase()
  if (envText !== undefined && envText !== '' && !['1', 'true', '0', 'false'].includes(envText)) {
    throw new ConfigError(
      'HORDE_ERR_CLI_TRACE',
      `HORDE_TRACE must be 1 or true (tracing on) or 0 or false (off), received ${describeValue(env.HORDE_TRACE)}.`,
    )
  }
  let sample: number | null = null
  if (sampleText !== undefined) {
    const value = parseDecimalNumber(sampleText)
    if (value === undefined || !(value > 0 && value <= 1)) {
      throw new ConfigError(
        'HORDE_ERR_CLI_TRACE',
        `--trace-sample must be the share of requests to trace, a number above 0 and at most 1 (0.01 = 1 %), received ${describeValue(sampleText)}.`,
      )
    }
    sample = value
  }
  return Object.freeze({ on: flag || envText === '1' || envText === 'true' || sample !== null, sample })
}

/**
 * Tracing is on when the command line, the environment or the scenario (`trace: { sample }`) asks for it;
 * the command line's sample wins over the scenario's. null = off: dd-trace is then never loaded.
 */
export function resolveTraceSettings(
  flags: TraceFlags,
  // Structural, not Pick<Scenario>: the scenario types import the http client, which imports this module.
  scenario: { readonly trace?: { readonly sample?: number } | undefined },
): TraceSettings | null {
  if (!flags.on && scenario.trace === undefined) return null
  return Object.freeze({ sample: flags.sample ?? scenario.trace?.sample ?? DEFAULT_TRACE_SAMPLE })
}
