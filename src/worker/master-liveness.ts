import type { Logger } from '../shared/logger.js'

/** After this much master-heartbeat silence, announce ourselves again (a restarted master forgot us; P15). */
const REREGISTER_AFTER_MS = 3000

/**
 * Whether the worker's master is still there: its connection (a killed master drops it; ZMTP heartbeats catch
 * a hung one, even a Locust 2.12.1 master that sends no heartbeats of its own) and, once it has sent one, its
 * heartbeats. Past `timeoutMs` of either, `onLost` fires once; no load may outlive a master that is gone.
 */
export class MasterLiveness {
  connected = false
  private lastHeartbeatAt: number | null = null
  private lastReregisterAt = 0
  private disconnectedAt: number | null = null
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs: number,
    private readonly onLost: () => void,
    private readonly reregister: () => void,
  ) {}

  onHeartbeat(now = Date.now()): void {
    this.lastHeartbeatAt = now
  }

  /** Forget the master's heartbeats (it was lost; a master that takes us back starts afresh). */
  forgetHeartbeats(): void {
    this.lastHeartbeatAt = null
  }

  /** Called with each of our heartbeats. */
  check(now: number): void {
    if (this.lastHeartbeatAt === null) return
    const silentMs = now - this.lastHeartbeatAt
    if (silentMs > this.timeoutMs) {
      this.log.error({ silentMs, timeoutMs: this.timeoutMs }, 'master went silent; stopping all users')
      this.lastHeartbeatAt = null
      this.onLost()
    } else if (silentMs > REREGISTER_AFTER_MS && now - this.lastReregisterAt > REREGISTER_AFTER_MS) {
      this.lastReregisterAt = now
      this.reregister()
    }
  }

  onConnectionChange(connected: boolean): void {
    this.connected = connected
    if (connected) {
      if (this.disconnectedAt !== null) this.log.info({}, 'connection to the master restored')
      this.disconnectedAt = null
      return
    }
    if (this.disconnectedAt !== null) return
    this.log.warn({ timeoutMs: this.timeoutMs }, 'connection to the master lost')
    const disconnectedAt = Date.now()
    this.disconnectedAt = disconnectedAt
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      // Still the same disconnection, never restored meanwhile.
      if (this.disconnectedAt === disconnectedAt) {
        this.log.error({ timeoutMs: this.timeoutMs }, 'lost the connection to the master; stopping all users')
        this.onLost()
      }
    }, this.timeoutMs + 10)
    this.timers.add(timer)
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }
}
