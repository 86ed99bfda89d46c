import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { Logger } from '../shared/logger.js'

/**
 * While a worker waits for its master (at start, or after losing it), one warning every interval says so and
 * why, when it can tell: the name does not resolve, or no TCP connection, or connected but no answer. A
 * worker pointed at a wrong host would otherwise sit silent for minutes.
 */
export class MasterWaitWarning {
  private timer: NodeJS.Timeout | null = null
  private since = 0

  constructor(
    private readonly log: Logger,
    private readonly host: string,
    private readonly port: number,
    private readonly intervalMs: number,
  ) {}

  start(isConnected: () => boolean): void {
    this.stop()
    this.since = Date.now()
    this.timer = setInterval(() => void this.warn(isConnected()), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  private async warn(connected: boolean): Promise<void> {
    const master = `${this.host}:${this.port}`
    const waitedMs = Date.now() - this.since
    let problem: string
    if (connected) problem = 'connected, but the master does not answer (is it a Locust/Horde master?)'
    else if (isIP(this.host) !== 0) problem = 'cannot connect (is the master up, and the port right?)'
    else {
      try {
        await lookup(this.host)
        problem = 'cannot connect (is the master up, and the port right?)'
      } catch (error) {
        problem = `cannot resolve ${this.host} (${(error as NodeJS.ErrnoException).code ?? 'lookup failed'})`
      }
    }
    if (this.timer === null) return
    this.log.warn(
      { master, waitedMs, connected },
      `still waiting for the master at ${master} after ${Math.round(waitedMs / 1000)} s: ${problem}`,
    )
  }
}
