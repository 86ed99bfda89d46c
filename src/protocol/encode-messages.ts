/**
 * Typed messages → the `[type, data]` Locust puts on the wire (locust-protocol.md §3–§4), in snake_case, with
 * the msgpack types Python and Boomer expect: integer keys for counters (P1), float64 timestamps (P7/P8), nil
 * instead of undefined (P22). codec.ts adds the node id and packs.
 */
import { HORDE_LIVE_KEY, liveCountsToWire } from './live-counts.js'
import type {
  IntCounts,
  MasterToWorker,
  StatsEntryWire,
  StatsErrorWire,
  StatsReport,
  WorkerToMaster,
} from './messages.js'
import { Float64, toWireValue } from './wire-values.js'

export type WireMessage = [type: string, data: unknown]

export function masterToWire(message: MasterToWorker): WireMessage {
  switch (message.type) {
    case 'ack':
      return ['ack', { index: message.index }]
    case 'spawn':
      return [
        'spawn',
        {
          timestamp: new Float64(message.timestamp), // P7: always float64, even when integral
          user_classes_count: { ...message.userClassesCount },
          host: message.host,
          stop_timeout: new Float64(message.stopTimeoutSec),
          parsed_options: toWireValue(message.parsedOptions ?? {}), // P17: must be a map
        },
      ]
    case 'heartbeat':
      return ['heartbeat', null]
    case 'spawningComplete':
      return ['spawning_complete', { user_count: message.userCount }]
    case 'stop':
    case 'quit':
    case 'reconnect':
      return [message.type, null]
    case 'updateUserClass':
      return ['update_user_class', toWireValue(message.data)]
    case 'locustfileReply':
      return ['locustfile', toWireValue(message.data)]
    case 'custom':
      return [message.name, toWireValue(message.data)]
  }
}

export function workerToWire(message: WorkerToMaster): WireMessage {
  switch (message.type) {
    case 'clientReady':
      return ['client_ready', message.version]
    case 'heartbeat': {
      const data: Record<string, unknown> = {
        state: message.state,
        current_cpu_usage: new Float64(message.cpuPercent),
      }
      // Locust reads current_memory_usage only when present (runners.py heartbeat handling).
      if (message.memoryBytes !== null) data.current_memory_usage = message.memoryBytes
      if (message.live !== undefined) data[HORDE_LIVE_KEY] = liveCountsToWire(message.live)
      return ['heartbeat', data]
    }
    case 'stats':
      return ['stats', statsReportToWire(message.report)]
    case 'spawning':
      return ['spawning', null]
    case 'spawningComplete':
      return [
        'spawning_complete',
        { user_classes_count: { ...message.userClassesCount }, user_count: message.userCount },
      ]
    case 'clientStopped':
      return ['client_stopped', null]
    case 'quit':
      return ['quit', null]
    case 'exception':
      return ['exception', { msg: message.msg, traceback: message.traceback }]
    case 'logs':
      return ['logs', { worker_id: message.workerId, logs: [...message.logs] }]
    case 'locustfileRequest':
      return ['locustfile', { version: message.version }]
    case 'custom':
      return [message.name, toWireValue(message.data)]
  }
}

function statsReportToWire(report: StatsReport): Record<string, unknown> {
  const errors = Object.fromEntries([...report.errors].map(([key, row]) => [key, statsErrorToWire(row)]))
  const extra = toWireValue(report.extra ?? {}) as Record<string, unknown>
  return {
    ...extra,
    stats: report.stats.map(statsEntryToWire),
    stats_total: statsEntryToWire(report.statsTotal),
    errors,
    user_classes_count: { ...report.userClassesCount },
    user_count: report.userCount,
  }
}

/** Key order as Python emits it (§4.2); integer-keyed maps stay Maps so msgpack keys are ints (P1). */
function statsEntryToWire(entry: StatsEntryWire): Record<string, unknown> {
  return {
    name: entry.name,
    method: entry.method,
    last_request_timestamp:
      entry.lastRequestTimestamp === null ? null : new Float64(entry.lastRequestTimestamp),
    start_time: new Float64(entry.startTime),
    num_requests: entry.numRequests,
    num_none_requests: entry.numNoneRequests,
    num_failures: entry.numFailures,
    total_response_time: entry.totalResponseTime,
    max_response_time: entry.maxResponseTime,
    min_response_time: entry.minResponseTime,
    total_content_length: entry.totalContentLength,
    response_times: intCountsToWire(entry.responseTimes),
    num_reqs_per_sec: intCountsToWire(entry.numReqsPerSec),
    num_fail_per_sec: intCountsToWire(entry.numFailPerSec),
  }
}

function statsErrorToWire(row: StatsErrorWire): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    name: row.name,
    method: row.method,
    error: row.error,
    occurrences: row.occurrences,
  }
  // Only Locust ≥ 2.44 has these; leaving them out keeps the row identical to what older peers send.
  if (row.firstSeen !== undefined)
    wire.first_seen = row.firstSeen === null ? null : new Float64(row.firstSeen)
  if (row.lastSeen !== undefined) wire.last_seen = row.lastSeen === null ? null : new Float64(row.lastSeen)
  return wire
}

/** A Map<number, number> is what makes msgpackr write integer keys; plain objects would give string keys. */
function intCountsToWire(counts: IntCounts): Map<number, number> {
  if (counts instanceof Map) return counts
  return new Map(Object.entries(counts as Record<string, number>).map(([key, count]) => [Number(key), count]))
}
