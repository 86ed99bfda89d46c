import type { WorkerState } from '../protocol/messages.js'
import type { WorkerSocket } from '../protocol/transport.js'
import type { Logger } from '../shared/logger.js'
import type { HealthMonitor } from './health.js'
import type { MasterLiveness } from './master-liveness.js'
import type { RequestStats } from './stats.js'
import type { UserPool } from './user-pool.js'
import type { WorkerDatadog } from './worker-datadog.js'

/** One saturation warning per this long at most: the condition is in every heartbeat; the log need not be. */
const SATURATION_WARN_EVERY_MS = 10_000

/**
 * The worker's heartbeat: Locust's state, CPU and memory (plus Horde's live counts) every second, the health
 * sample it carries (to Datadog too), a warning when the worker is saturated, and the check that the master
 * is still answering.
 */
export class WorkerHeartbeat {
  private lastSaturationWarnAt = 0

  constructor(
    private readonly socket: WorkerSocket,
    private readonly health: HealthMonitor,
    private readonly stats: RequestStats,
    private readonly pool: UserPool,
    private readonly liveness: MasterLiveness,
    private readonly log: Logger,
    private readonly datadog: WorkerDatadog | null,
  ) {}

  beat(state: WorkerState): void {
    const health = this.health.sample()
    this.datadog?.health(health)
    this.socket.send({
      type: 'heartbeat',
      state,
      cpuPercent: Math.round(health.cpuPercent * 10) / 10,
      memoryBytes: health.rssBytes,
      live: this.stats.live,
    })
    const now = Date.now()
    if (health.saturated && now - this.lastSaturationWarnAt > SATURATION_WARN_EVERY_MS) {
      this.lastSaturationWarnAt = now
      this.log.warn(
        {
          cpuPercent: Math.round(health.cpuPercent),
          loopDelayMaxMs: Math.round(health.loopDelayMaxMs),
          loopDelayP99Ms: Math.round(health.loopDelayP99Ms),
          users: this.pool.userCount,
        },
        `worker saturated (${health.reason}): its response times are suspect; add workers or lower users per worker`,
      )
    }
    this.liveness.check(now)
  }
}
