import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { CPU_SATURATED_PERCENT, LOOP_BLOCKED_MS } from '../shared/saturation.js'

export interface HealthSample {
  /** Process CPU over the last interval, % of one core (may exceed 100 with worker threads). */
  cpuPercent: number
  rssBytes: number
  /** Event-loop delay over the last interval, ms. */
  loopDelayP99Ms: number
  loopDelayMaxMs: number
  /** CPU ≥ 90 % or the event loop blocked: the worker's numbers are then suspect. */
  saturated: boolean
  reason: string | null
}

/**
 * Samples the worker's own health once per heartbeat. The field failure this guards against: a blocking
 * DB driver froze every user and the master just saw a "missing" worker. Here the worker says so itself.
 */
export class HealthMonitor {
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 })
  private lastCpu = process.cpuUsage()
  private lastAt = performance.now()
  /** Worst stall since the last stats report; heartbeats sample every second, stats go every 3 s. */
  private loopDelayMaxSinceTakeMs: number | undefined = undefined

  constructor() {
    this.loopDelay.enable()
  }

  sample(): HealthSample {
    const now = performance.now()
    const cpu = process.cpuUsage(this.lastCpu)
    const elapsedMs = Math.max(1, now - this.lastAt)
    this.lastCpu = process.cpuUsage()
    this.lastAt = now
    const cpuPercent = ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100
    const loopDelayP99Ms = this.loopDelay.percentile(99) / 1e6
    const loopDelayMaxMs = this.loopDelay.max / 1e6
    this.loopDelay.reset()
    this.loopDelayMaxSinceTakeMs = Math.max(this.loopDelayMaxSinceTakeMs ?? 0, loopDelayMaxMs)
    let reason: string | null = null
    if (cpuPercent >= CPU_SATURATED_PERCENT) reason = `CPU at ${cpuPercent.toFixed(0)} % of a core`
    else if (loopDelayMaxMs >= LOOP_BLOCKED_MS)
      reason = `event loop blocked for ${loopDelayMaxMs.toFixed(0)} ms`
    return {
      cpuPercent,
      rssBytes: process.memoryUsage.rss(),
      loopDelayP99Ms,
      loopDelayMaxMs,
      saturated: reason !== null,
      reason,
    }
  }

  /**
   * The worst event-loop stall since the previous call (undefined before the first sample), for the stats
   * report: the master counts a stall into the seconds it covers, so one seen by an earlier heartbeat must
   * not be lost to the next, calmer one.
   */
  takeLoopDelayMaxMs(): number | undefined {
    const value = this.loopDelayMaxSinceTakeMs
    this.loopDelayMaxSinceTakeMs = undefined
    return value
  }

  stop(): void {
    this.loopDelay.disable()
  }
}
