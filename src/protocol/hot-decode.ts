/**
 * The fast path for the two messages a master gets most (a `heartbeat` per worker per second, a `stats` report
 * per worker every 3 s): one hand-written structural check straight on what msgpackr decoded (Maps), building
 * the typed message as it goes. The general path (fromWireValue() copies every map into an object, then zod
 * checks every field) cost a master under 200 workers about a quarter of its CPU (bench/README.md).
 *
 * It accepts only data the general path accepts, and builds exactly what the general path builds from it
 * (test/protocol/hot-decode.test.ts compares both on real Locust and Horde frames). Anything it is unsure of
 * (a wrong type, a missing field, a string-keyed count map, a `__datetime__` map) returns null and the caller
 * runs the general path, so every error message for a bad frame is unchanged.
 */
import type {
  IntCounts,
  StatsEntryWire,
  StatsErrorWire,
  StatsReport,
  WorkerHeartbeatMessage,
  WorkerState,
} from './messages.js'
import { HORDE_LIVE_KEY, liveCountsFromWire } from './live-counts.js'
import { fromWireValue } from './wire-values.js'

type RawMap = Map<unknown, unknown>

const STATES: ReadonlySet<unknown> = new Set<WorkerState>(['ready', 'spawning', 'running'])
const REPORT_KEYS: ReadonlySet<unknown> = new Set([
  'stats',
  'stats_total',
  'errors',
  'user_classes_count',
  'user_count',
])

/** A plain map the general path would turn into an object (no Locust datetime). */
function plainMap(value: unknown): RawMap | null {
  return value instanceof Map && !value.has('__datetime__') ? (value as RawMap) : null
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/** A required-with-default number: undefined → fallback; anything but a finite number → null (general path). */
function numberOr(value: unknown, fallback: number): number | null {
  if (value === undefined) return fallback
  return isNumber(value) ? value : null
}

/** A heartbeat's data, or null when only the general path can say what is wrong with it. */
export function hotHeartbeat(data: unknown): WorkerHeartbeatMessage | null {
  const map = plainMap(data)
  if (map === null) return null
  const state = map.get('state')
  const cpu = map.get('current_cpu_usage')
  const memory = map.get('current_memory_usage')
  if (!STATES.has(state) || !isNumber(cpu)) return null
  if (memory !== undefined && memory !== null && !isNumber(memory)) return null
  const message: WorkerHeartbeatMessage = {
    type: 'heartbeat',
    state: state as WorkerState,
    cpuPercent: cpu,
    memoryBytes: memory ?? null,
  }
  const live = liveCountsFromWire(map.get(HORDE_LIVE_KEY))
  if (live !== undefined) message.live = live
  return message
}

/** A stats report's data, or null when only the general path can say what is wrong with it. */
export function hotStatsReport(data: unknown): StatsReport | null {
  const map = plainMap(data)
  if (map === null) return null
  const rawStats = map.get('stats')
  if (!Array.isArray(rawStats)) return null
  const stats: StatsEntryWire[] = new Array<StatsEntryWire>(rawStats.length)
  for (let i = 0; i < rawStats.length; i++) {
    const entry = statsEntry(rawStats[i])
    if (entry === null) return null
    stats[i] = entry
  }
  const statsTotal = statsEntry(map.get('stats_total'))
  if (statsTotal === null) return null
  const errors = errorRows(map.get('errors'))
  if (errors === null) return null
  const userClassesCount = classCounts(map.get('user_classes_count'))
  if (userClassesCount === null) return null
  const rawUserCount = map.get('user_count')
  let userCount: number
  if (rawUserCount === undefined || rawUserCount === null) {
    userCount = 0
    for (const key in userClassesCount) userCount += userClassesCount[key] as number
  } else if (isNumber(rawUserCount)) userCount = rawUserCount
  else return null
  const extra: Record<string, unknown> = {}
  for (const [key, value] of map) {
    if (REPORT_KEYS.has(key)) continue
    // Any other key (the Horde extension): what the general path makes of it. A non-string key would make the
    // general path keep the whole data as a Map and refuse it.
    if (typeof key !== 'string' || key === '__proto__') return null
    extra[key] = fromWireValue(value)
  }
  return { stats, statsTotal, errors, userClassesCount, userCount, extra }
}

function statsEntry(value: unknown): StatsEntryWire | null {
  const map = plainMap(value)
  if (map === null) return null
  const name = map.get('name')
  if (typeof name !== 'string') return null
  const method = map.get('method')
  if (method !== undefined && method !== null && typeof method !== 'string') return null
  const last = map.get('last_request_timestamp')
  if (last !== undefined && last !== null && !isNumber(last)) return null
  const start = map.get('start_time')
  if (start !== undefined && !isNumber(start)) return null
  const min = map.get('min_response_time')
  if (min !== undefined && min !== null && !isNumber(min)) return null
  const numRequests = numberOr(map.get('num_requests'), 0)
  const numNoneRequests = numberOr(map.get('num_none_requests'), 0)
  const numFailures = numberOr(map.get('num_failures'), 0)
  const totalResponseTime = numberOr(map.get('total_response_time'), 0)
  const maxResponseTime = numberOr(map.get('max_response_time'), 0)
  const totalContentLength = numberOr(map.get('total_content_length'), 0)
  if (
    numRequests === null ||
    numNoneRequests === null ||
    numFailures === null ||
    totalResponseTime === null ||
    maxResponseTime === null ||
    totalContentLength === null
  ) {
    return null
  }
  const responseTimes = intCounts(map.get('response_times'))
  const numReqsPerSec = intCounts(map.get('num_reqs_per_sec'))
  const numFailPerSec = intCounts(map.get('num_fail_per_sec'))
  if (responseTimes === null || numReqsPerSec === null || numFailPerSec === null) return null
  return {
    name,
    method: method ?? null,
    lastRequestTimestamp: last ?? null,
    // Locust gives a fresh entry start_time = now when the key is missing (§4.6).
    startTime: start ?? Date.now() / 1000,
    numRequests,
    numNoneRequests,
    numFailures,
    totalResponseTime,
    maxResponseTime,
    minResponseTime: min ?? null,
    totalContentLength,
    responseTimes,
    numReqsPerSec,
    numFailPerSec,
  }
}

/**
 * A count map with number keys, used as it is: msgpackr built it for this message alone, and nothing downstream
 * writes to it. String keys (a non-compliant peer, P1) and anything odd go to the general path.
 */
function intCounts(value: unknown): IntCounts | null {
  // nil counts as empty; a missing key is refused by the general path's schema, which says so.
  if (value === null) return new Map()
  if (!(value instanceof Map)) return null
  for (const [key, count] of value as RawMap) {
    if (!isNumber(key) || !isNumber(count)) return null
  }
  return value as IntCounts
}

function errorRows(value: unknown): Map<string, StatsErrorWire> | null {
  const errors = new Map<string, StatsErrorWire>()
  if (value === undefined || value === null) return errors
  const map = plainMap(value)
  if (map === null) return null
  for (const [key, raw] of map) {
    if (typeof key !== 'string' || key === '__proto__') return null
    const row = plainMap(raw)
    if (row === null) return null
    const name = row.get('name')
    const method = row.get('method')
    const error = row.get('error')
    const occurrences = row.get('occurrences')
    const firstSeen = row.get('first_seen')
    const lastSeen = row.get('last_seen')
    if (typeof name !== 'string' || typeof error !== 'string' || !isNumber(occurrences)) return null
    if (method !== undefined && method !== null && typeof method !== 'string') return null
    if (firstSeen !== undefined && firstSeen !== null && !isNumber(firstSeen)) return null
    if (lastSeen !== undefined && lastSeen !== null && !isNumber(lastSeen)) return null
    const out: StatsErrorWire = { name, method: method ?? '', error, occurrences }
    if (firstSeen !== undefined) out.firstSeen = firstSeen
    if (lastSeen !== undefined) out.lastSeen = lastSeen
    errors.set(key, out)
  }
  return errors
}

function classCounts(value: unknown): Record<string, number> | null {
  const map = plainMap(value)
  if (map === null) return null
  const counts: Record<string, number> = {}
  for (const [key, count] of map) {
    if (typeof key !== 'string' || key === '__proto__' || !isNumber(count)) return null
    counts[key] = count
  }
  return counts
}
