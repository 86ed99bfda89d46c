import type { Logger } from '../shared/logger.js'
import type { Scenario } from './scenario-types.js'
import type { WorkerDatadog } from './worker-datadog.js'

export interface WorkerOptions {
  scenario: Scenario
  masterHost: string
  masterPort: number
  /** Base URL override (--host); wins over the master's host and the scenario's. */
  host?: string | null
  nodeId?: string
  /**
   * How long the master may be silent (no heartbeat from a master that sends them, or no connection) before
   * the worker stops all users and exits non-zero. Load never outlives its master.
   */
  masterTimeoutMs?: number
  /** How long to keep announcing ourselves before giving up on a master that never answers. */
  connectTimeoutMs?: number
  logger?: Logger
  logLevel?: string
  heartbeatIntervalMs?: number
  reportIntervalMs?: number
  /**
   * Horde masters only: the run's join secret (--join-secret / HORDE_JOIN_SECRET). The worker proves it holds
   * it with an HMAC of its node id; the secret itself never goes on the wire.
   */
  joinSecret?: string | null
  /**
   * After losing its master (and stopping every user), how long the worker keeps asking to join again before
   * it exits 105: a network partition that heals within it costs no worker. 0 (default) exits at once.
   */
  rejoinWindowMs?: number
  /** How often to warn while waiting for a master that does not answer (default 10 s). */
  waitWarnIntervalMs?: number
  /** Traces and live metrics (worker-datadog.ts); absent when both are off. */
  datadog?: WorkerDatadog | null
}

export interface WorkerExit {
  code: number
  reason: 'quit' | 'master-lost' | 'connect-timeout' | 'signal' | 'refused'
  /** Tasks still running after the stop timeout, left behind (their sockets destroyed) so the worker could exit. */
  abandonedTasks: number
}
