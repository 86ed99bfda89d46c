/**
 * The Locust master/worker messages as typed, camelCase values. This file is the contract between the wire
 * (codec.ts, which alone knows snake_case and msgpack) and the worker and master. See
 * ../shared/docs/locust-protocol.md §3–§4 for the meaning of every field.
 */

import type { LiveCounts } from './live-counts.js'

/** States a worker reports in heartbeats. Locust masters adopt them verbatim (P13). */
export type WorkerState = 'ready' | 'spawning' | 'running'

/** Per-second counters and response-time buckets travel as msgpack maps with integer keys (P1). */
export type IntCounts = Map<number, number>

/** One row of Locust stats for one reporting interval (a delta), keyed by (name, method). */
export interface StatsEntryWire {
  name: string
  /** nil in 2.12.1's very first stats_total (P10). */
  method: string | null
  /** Epoch seconds (float), null when no request in the interval. */
  lastRequestTimestamp: number | null
  /** Epoch seconds (float) of the last reset. */
  startTime: number
  numRequests: number
  numNoneRequests: number
  numFailures: number
  /** Milliseconds, int or float (P9). */
  totalResponseTime: number
  maxResponseTime: number
  /** null when nothing was timed (Boomer sends 0). */
  minResponseTime: number | null
  totalContentLength: number
  /** Bucketed response time in ms → count (§4.3). */
  responseTimes: IntCounts
  /** int(epoch second) → requests logged in that second. */
  numReqsPerSec: IntCounts
  /** int(epoch second) → failures logged in that second. */
  numFailPerSec: IntCounts
}

/** One row of the errors table, keyed by a stable hash of method, name and error. */
export interface StatsErrorWire {
  name: string
  method: string
  error: string
  occurrences: number
  /** Epoch seconds; only Locust ≥ 2.44 sends these. */
  firstSeen?: number | null
  lastSeen?: number | null
}

export interface StatsReport {
  stats: StatsEntryWire[]
  statsTotal: StatsEntryWire
  /** error key → error row */
  errors: Map<string, StatsErrorWire>
  userClassesCount: Record<string, number>
  userCount: number
  /**
   * Any other top-level keys (Locust passes them unchanged to report listeners). Horde peers put their
   * high-resolution histograms here under `horde`; plain Locust masters ignore it.
   */
  extra: Record<string, unknown>
}

// ---- master → worker -------------------------------------------------------------------------------

export interface AckMessage {
  type: 'ack'
  /** null from 2.10.x masters, which sent no index. */
  index: number | null
}
export interface SpawnMessage {
  type: 'spawn'
  /** Epoch seconds; workers drop a spawn whose timestamp is ≤ the last one accepted. */
  timestamp: number
  /** Absolute target users per class for this worker. */
  userClassesCount: Record<string, number>
  host: string | null
  stopTimeoutSec: number
  parsedOptions: Record<string, unknown>
}
export interface MasterHeartbeatMessage {
  type: 'heartbeat'
}
export interface MasterSpawningCompleteMessage {
  type: 'spawningComplete'
  userCount: number
}
export interface StopMessage {
  type: 'stop'
}
export interface QuitMessage {
  type: 'quit'
}
export interface ReconnectMessage {
  type: 'reconnect'
}
export interface UpdateUserClassMessage {
  type: 'updateUserClass'
  data: Record<string, unknown>
}
export interface LocustfileReplyMessage {
  type: 'locustfileReply'
  data: Record<string, unknown>
}
/** Anything else: custom messages (runner.send_message) and types newer than this code. */
export interface CustomMessage {
  type: 'custom'
  name: string
  data: unknown
}

export type MasterToWorker =
  | AckMessage
  | SpawnMessage
  | MasterHeartbeatMessage
  | MasterSpawningCompleteMessage
  | StopMessage
  | QuitMessage
  | ReconnectMessage
  | UpdateUserClassMessage
  | LocustfileReplyMessage
  | CustomMessage

// ---- worker → master -------------------------------------------------------------------------------

export interface ClientReadyMessage {
  type: 'clientReady'
  /** A Locust version string, -1 (Boomer/Horde: skip the version check), or '' from Debian's 2.12.1 (P6). */
  version: string | number | null
}
export interface WorkerHeartbeatMessage {
  type: 'heartbeat'
  state: WorkerState
  /** Process CPU %, may exceed 100 on several cores. */
  cpuPercent: number
  /** RSS bytes; optional for Locust. */
  memoryBytes: number | null
  /** Horde workers: requests and failures so far, for a master's live progress line (live-counts.ts). */
  live?: LiveCounts
}
export interface StatsMessage {
  type: 'stats'
  report: StatsReport
}
export interface SpawningMessage {
  type: 'spawning'
}
export interface WorkerSpawningCompleteMessage {
  type: 'spawningComplete'
  userClassesCount: Record<string, number>
  userCount: number
}
export interface ClientStoppedMessage {
  type: 'clientStopped'
}
export interface WorkerQuitMessage {
  type: 'quit'
}
export interface ExceptionMessage {
  type: 'exception'
  msg: string
  traceback: string
}
export interface LogsMessage {
  type: 'logs'
  workerId: string
  logs: string[]
}
export interface LocustfileRequestMessage {
  type: 'locustfileRequest'
  version: string | null
}

export type WorkerToMaster =
  | ClientReadyMessage
  | WorkerHeartbeatMessage
  | StatsMessage
  | SpawningMessage
  | WorkerSpawningCompleteMessage
  | ClientStoppedMessage
  | WorkerQuitMessage
  | ExceptionMessage
  | LogsMessage
  | LocustfileRequestMessage
  | CustomMessage

/** A decoded frame: the message and the node_id it carried (sender for W→M, recipient for M→W). */
export interface Envelope<M> {
  nodeId: string
  message: M
}

/** Decoding never throws: a frame is either a message or a reason it was dropped. */
export type DecodeResult<M> = { ok: true; envelope: Envelope<M> } | { ok: false; reason: string }
