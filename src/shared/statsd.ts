import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { MetricOptions } from 'hot-shots'
import { ConfigError, describeValue } from './errors.js'
import type { Logger } from './logger.js'
import { parseWholeNumber } from './numbers.js'

/** Where DogStatsD goes: `--statsd host:port`, else the agent named by DD_AGENT_HOST (+ DD_DOGSTATSD_PORT). */
export interface StatsdTarget {
  readonly host: string
  readonly port: number
  /** Which setting named it, for error messages. */
  readonly from: string
}

const DEFAULT_DOGSTATSD_PORT = 8125

/**
 * Reads the DogStatsD target, or null when live metrics are off (neither `--statsd` nor DD_AGENT_HOST set).
 * Bad values are bad input, named with the fix, before any load.
 */
export function parseStatsdTarget(
  flagValue: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): StatsdTarget | null {
  const given = flagValue ?? nonEmpty(env.HORDE_STATSD)
  if (given !== undefined) {
    const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):([^:\s]+)$/.exec(given.trim())
    const port = match === null ? undefined : parseWholeNumber(match[2] as string)
    if (match === null || port === undefined || port < 1 || port > 65535) {
      throw new ConfigError(
        'HORDE_ERR_CLI_STATSD',
        `--statsd must be host:port of a DogStatsD agent, e.g. 127.0.0.1:8125, received ${describeValue(given)}: fix it, or leave --statsd (HORDE_STATSD) unset to send no live metrics.`,
      )
    }
    return Object.freeze({ host: (match[1] as string).replace(/^\[|\]$/g, ''), port, from: '--statsd' })
  }
  const agentHost = nonEmpty(env.DD_AGENT_HOST)
  if (agentHost === undefined) return null
  const portText = nonEmpty(env.DD_DOGSTATSD_PORT)
  const port = portText === undefined ? DEFAULT_DOGSTATSD_PORT : parseWholeNumber(portText)
  if (port === undefined || port < 1 || port > 65535) {
    throw new ConfigError(
      'HORDE_ERR_CLI_STATSD',
      `DD_DOGSTATSD_PORT must be a port number from 1 to 65535, received ${describeValue(portText)}: fix it or unset it (default 8125).`,
    )
  }
  return Object.freeze({ host: agentHost, port, from: 'DD_AGENT_HOST' })
}

/** The environment a child worker needs to send to the same agent. */
export function statsdEnv(target: StatsdTarget | null): Record<string, string> {
  if (target === null) return {}
  const host = target.host.includes(':') ? `[${target.host}]` : target.host
  return { HORDE_STATSD: `${host}:${target.port}` }
}

export interface MetricsSink {
  /** A gauge, optionally for a past second (DogStatsD timestamp): the agent files it under that second. */
  gauge(name: string, value: number, tags?: readonly string[], timestampSec?: number): void
  close(): Promise<void>
}

/**
 * A DogStatsD client over UDP (hot-shots, loaded only when live metrics are on). The agent's name is resolved
 * once here, never per metric; a dead or absent agent costs a dropped datagram and one warning, never a wait.
 */
export async function openMetricsSink(
  target: StatsdTarget,
  globalTags: readonly string[],
  log: Logger,
): Promise<MetricsSink> {
  let host = target.host
  if (isIP(host) === 0) {
    try {
      host = (await lookup(host)).address
    } catch (error) {
      log.warn(
        { statsd: `${target.host}:${target.port}`, err: error },
        'cannot resolve the DogStatsD agent: live metrics are off for this run',
      )
      return NO_METRICS
    }
  }
  const StatsD = (await import('hot-shots')).default
  let warned = false
  const client = new StatsD({
    host,
    port: target.port,
    protocol: 'udp',
    globalTags: [...globalTags],
    // The tags we send are the unified service tags we chose; hot-shots would add its own from DD_* again.
    includeDataDogTags: false,
    includeDatadogTelemetry: false,
    originDetection: false,
    // Batch a second's metrics into few datagrams.
    maxBufferSize: 1400,
    bufferFlushInterval: 200,
    errorHandler: (error: Error) => {
      if (warned) return
      warned = true
      log.warn(
        { statsd: `${target.host}:${target.port}`, err: error },
        'DogStatsD send failed (further failures not logged)',
      )
    },
  })
  return {
    gauge(name, value, tags, timestampSec) {
      const options: MetricOptions = { tags: tags === undefined ? [] : [...tags] }
      if (timestampSec !== undefined) options.timestamp = timestampSec
      client.gauge(name, value, options)
    },
    close: () =>
      new Promise<void>((resolve) => {
        // A UDP close cannot hang on the agent, but bound it all the same.
        const timer = setTimeout(resolve, 1000)
        client.close(() => {
          clearTimeout(timer)
          resolve()
        })
      }),
  }
}

const NO_METRICS: MetricsSink = {
  gauge() {},
  close: () => Promise.resolve(),
}

/** Datadog tag values: lowercase letters, digits and `_-./:`; anything else becomes `_`. */
export function tag(key: string, value: string): string {
  return `${key}:${value.replace(/[^A-Za-z0-9_\-./:]/g, '_')}`
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}
