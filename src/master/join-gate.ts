import { verifyJoin } from '../protocol/horde-peer.js'
import type { Logger } from '../shared/logger.js'
import { RateLimitedWarning } from '../shared/rate-limited-log.js'

/**
 * Who may join a master started with a join secret. A Horde peer (client_ready version -1) must have sent a
 * valid `horde_join` proof for its node id just before; without one it is never registered, so it can take
 * no work and its stats are discarded like any unregistered sender's. Locust peers announce a version string,
 * cannot send a proof, and are let in as before. Without a secret everyone is let in.
 */
export class JoinGate {
  private readonly proven = new Set<string>()
  private readonly refusedWarning: RateLimitedWarning

  constructor(
    private readonly secret: string | null,
    log: Logger,
  ) {
    this.refusedWarning = new RateLimitedWarning(
      log,
      'refused a Horde worker without a valid join secret (start it with the same --join-secret / HORDE_JOIN_SECRET)',
    )
  }

  /** A `horde_join` message: remember the node id if its proof is right (a wrong one forgets an earlier one). */
  onJoin(nodeId: string, data: unknown): void {
    if (this.secret === null) return
    if (verifyJoin(data, this.secret, nodeId)) this.proven.add(nodeId)
    else this.proven.delete(nodeId)
  }

  admits(nodeId: string, version: string | number | null): boolean {
    if (this.secret === null || version !== -1 || this.proven.has(nodeId)) return true
    this.refusedWarning.note({ workerId: nodeId })
    return false
  }

  flush(): void {
    this.refusedWarning.flush()
  }
}
