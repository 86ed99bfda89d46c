/**
 * The Locust wire codec: typed camelCase messages (messages.ts) ⇄ msgpack payloads `[type, data, node_id]`
 * (locust-protocol.md §2–§4). This is the only module that knows snake_case names and msgpack. Decoding
 * never throws: a frame is either a validated message or a reason naming the message type, the field and
 * what was received.
 */
import type { z } from 'zod'
import { masterToWire, workerToWire } from './encode-messages.js'
import { checkFrame } from './frame-check.js'
import { hotHeartbeat, hotStatsReport } from './hot-decode.js'
import { liveCountsFromWire, type LiveCounts } from './live-counts.js'
import type {
  DecodeResult,
  MasterToWorker,
  StatsEntryWire,
  StatsErrorWire,
  StatsReport,
  WorkerToMaster,
} from './messages.js'
import {
  STATS_REPORT_KEYS,
  ackSchema,
  anyRecord,
  clientReadySchema,
  exceptionSchema,
  locustfileRequestSchema,
  logsSchema,
  masterSpawningCompleteSchema,
  parse,
  type Parsed,
  spawnSchema,
  statsEntrySchema,
  statsReportSchema,
  workerHeartbeatSchema,
  workerSpawningCompleteSchema,
} from './wire-schemas.js'
import { describeWireValue, fromWireValue, packValue, unpackValue } from './wire-values.js'

// ---- encode -------------------------------------------------------------------------------------------------

/** Master → worker payload; `nodeId` is the recipient worker's id (§2.1). */
export function encodeToWorker(nodeId: string, message: MasterToWorker): Buffer {
  return packValue([...masterToWire(message), nodeId])
}

/** Worker → master payload; `nodeId` is the sender's id and must equal its ZeroMQ routing id (P3). */
export function encodeToMaster(nodeId: string, message: WorkerToMaster): Buffer {
  return packValue([...workerToWire(message), nodeId])
}

// ---- decode -------------------------------------------------------------------------------------------------

/**
 * Decodes a payload a worker sent to the master. Never throws. Heartbeats and stats reports take the fast path
 * (hot-decode.ts) unless `general` is set (tests compare both); data it is unsure of goes the general way.
 */
export function decodeFromWorker(
  frame: Buffer | Uint8Array,
  options: { general?: boolean } = {},
): DecodeResult<WorkerToMaster> {
  const hot = options.general === true ? null : hotFromWorker
  return decodeFrame<WorkerToMaster>(frame, 'worker', hot, (type, data, nodeId) => {
    switch (type) {
      case 'client_ready':
        return parse(type, clientReadySchema, data, (version) => ({ type: 'clientReady', version }))
      case 'heartbeat':
        return parse(type, workerHeartbeatSchema, data, (d) => ({
          type: 'heartbeat',
          state: d.state,
          cpuPercent: d.current_cpu_usage,
          memoryBytes: d.current_memory_usage ?? null,
          ...liveField(d.horde_live),
        }))
      case 'stats':
        return parse(type, statsReportSchema, data, (d) => ({
          type: 'stats',
          report: toStatsReport(d, data),
        }))
      case 'spawning':
        return { ok: true, message: { type: 'spawning' } }
      case 'spawning_complete':
        return parse(type, workerSpawningCompleteSchema, data, (d) => ({
          type: 'spawningComplete',
          userClassesCount: d.user_classes_count,
          userCount: d.user_count ?? d.count ?? sum(d.user_classes_count),
        }))
      case 'client_stopped':
        return { ok: true, message: { type: 'clientStopped' } }
      case 'quit':
        return { ok: true, message: { type: 'quit' } }
      case 'exception':
        return parse(type, exceptionSchema, data, (d) => ({
          type: 'exception',
          msg: d.msg,
          traceback: d.traceback ?? '',
        }))
      case 'logs':
        return parse(type, logsSchema, data, (d) => ({
          type: 'logs',
          workerId: d.worker_id ?? nodeId,
          logs: d.logs,
        }))
      case 'locustfile':
        return parse(type, locustfileRequestSchema, data, (d) => ({
          type: 'locustfileRequest',
          version: d?.version ?? null,
        }))
      default:
        return { ok: true, message: { type: 'custom', name: type, data } }
    }
  })
}

/** Decodes a payload a master sent to a worker. Never throws. */
export function decodeFromMaster(frame: Buffer | Uint8Array): DecodeResult<MasterToWorker> {
  return decodeFrame<MasterToWorker>(frame, 'master', null, (type, data) => {
    switch (type) {
      case 'ack':
        return parse(type, ackSchema, data, (d) => ({ type: 'ack', index: d?.index ?? null }))
      case 'spawn':
        return parse(type, spawnSchema, data, (d) => ({
          type: 'spawn',
          timestamp: d.timestamp,
          userClassesCount: d.user_classes_count,
          host: d.host ?? null,
          stopTimeoutSec: d.stop_timeout ?? 0,
          parsedOptions: d.parsed_options ?? {},
        }))
      case 'heartbeat':
        return { ok: true, message: { type: 'heartbeat' } }
      case 'spawning_complete':
        return parse(type, masterSpawningCompleteSchema, data, (d) => ({
          type: 'spawningComplete',
          userCount: d.user_count,
        }))
      case 'stop':
      case 'quit':
      case 'reconnect':
        return { ok: true, message: { type } }
      case 'update_user_class':
        return parse(type, anyRecord, data, (d) => ({ type: 'updateUserClass', data: d }))
      case 'locustfile':
        return parse(type, anyRecord, data, (d) => ({ type: 'locustfileReply', data: d }))
      default:
        return { ok: true, message: { type: 'custom', name: type, data } }
    }
  })
}

/** The fast path: a message built straight from msgpackr's values, or null to take the general path. */
type HotDecoder<M> = (type: string, data: unknown) => M | null

function hotFromWorker(type: string, data: unknown): WorkerToMaster | null {
  if (type === 'heartbeat') return hotHeartbeat(data)
  if (type === 'stats') {
    const report = hotStatsReport(data)
    return report === null ? null : { type: 'stats', report }
  }
  return null
}

function decodeFrame<M>(
  frame: Buffer | Uint8Array,
  sender: 'worker' | 'master',
  hot: HotDecoder<M> | null,
  decodeData: (type: string, data: unknown, nodeId: string) => Parsed<M>,
): DecodeResult<M> {
  try {
    if (!(frame instanceof Uint8Array)) {
      return {
        ok: false,
        reason: `expected a binary frame from the ${sender}, received ${describeWireValue(frame)}`,
      }
    }
    const problem = checkFrame(frame)
    if (problem)
      return { ok: false, reason: `undecodable ${frame.length}-byte frame from the ${sender}: ${problem}` }
    const raw = unpackValue(frame)
    if (hot !== null && Array.isArray(raw) && raw.length === 3) {
      const [type, data, nodeId] = raw as [unknown, unknown, unknown]
      if (typeof type === 'string' && type !== '' && typeof nodeId === 'string') {
        const message = hot(type, data)
        if (message !== null) return { ok: true, envelope: { nodeId, message } }
      }
    }
    const value = fromWireValue(raw)
    if (!Array.isArray(value) || value.length !== 3) {
      return {
        ok: false,
        reason: `a message must be a 3-element array [type, data, node_id], received ${describeWireValue(value)}`,
      }
    }
    const [type, data, nodeId] = value as [unknown, unknown, unknown]
    if (typeof type !== 'string' || type === '') {
      return {
        ok: false,
        reason: `message type must be a non-empty string, received ${describeWireValue(type)}`,
      }
    }
    if (typeof nodeId !== 'string') {
      return { ok: false, reason: `${type}: node_id must be a string, received ${describeWireValue(nodeId)}` }
    }
    const parsed = decodeData(type, data, nodeId)
    return parsed.ok ? { ok: true, envelope: { nodeId, message: parsed.message } } : parsed
  } catch (error) {
    // msgpackr or a schema could still throw on something checkFrame() let through (e.g. stack depth).
    const detail = error instanceof Error ? error.message : String(error)
    return { ok: false, reason: `could not decode a frame from the ${sender}: ${detail}` }
  }
}

function toStatsReport(d: z.output<typeof statsReportSchema>, raw: unknown): StatsReport {
  const extra = Object.fromEntries(
    Object.entries(raw as Record<string, unknown>).filter(
      ([key]) => !(STATS_REPORT_KEYS as readonly string[]).includes(key),
    ),
  )
  const errors = new Map<string, StatsErrorWire>()
  for (const [key, row] of Object.entries(d.errors ?? {})) {
    const error: StatsErrorWire = {
      name: row.name,
      method: row.method ?? '',
      error: row.error,
      occurrences: row.occurrences,
    }
    if (row.first_seen !== undefined) error.firstSeen = row.first_seen
    if (row.last_seen !== undefined) error.lastSeen = row.last_seen
    errors.set(key, error)
  }
  return {
    stats: d.stats.map(toStatsEntry),
    statsTotal: toStatsEntry(d.stats_total),
    errors,
    userClassesCount: d.user_classes_count,
    userCount: d.user_count ?? sum(d.user_classes_count),
    extra,
  }
}

function toStatsEntry(d: z.output<typeof statsEntrySchema>): StatsEntryWire {
  return {
    name: d.name,
    method: d.method ?? null,
    lastRequestTimestamp: d.last_request_timestamp ?? null,
    // Locust gives a fresh entry start_time = now when the key is missing (§4.6).
    startTime: d.start_time ?? Date.now() / 1000,
    numRequests: d.num_requests,
    numNoneRequests: d.num_none_requests,
    numFailures: d.num_failures,
    totalResponseTime: d.total_response_time,
    maxResponseTime: d.max_response_time,
    minResponseTime: d.min_response_time ?? null,
    totalContentLength: d.total_content_length,
    responseTimes: d.response_times,
    numReqsPerSec: d.num_reqs_per_sec,
    numFailPerSec: d.num_fail_per_sec,
  }
}

/** `live` only when the heartbeat carried valid counts, so Locust workers' heartbeats stay as they were. */
function liveField(value: unknown): { live?: LiveCounts } {
  const live = liveCountsFromWire(value)
  return live === undefined ? {} : { live }
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, count) => total + count, 0)
}
