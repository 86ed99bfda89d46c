import { Client, type Dispatcher } from 'undici'

/** A request handler that hands its connection back when its response has ended (or failed). */
export interface PooledHandler extends Dispatcher.DispatchHandler {
  /** Set by the pool when the request is given a connection; the handler calls pool.release(client) once. */
  lease(pool: ConnectionPool, client: Client): void
  /**
   * Asked of a request that waited for a connection, before it gets one: true if its user was stopped
   * meanwhile (it has failed itself and must not be sent, nor cost a connection).
   */
  withdrawIfStopped(): boolean
}

interface Waiting {
  opts: Dispatcher.DispatchOptions
  handler: PooledHandler
}

export interface ConnectionPoolOptions {
  /** Most connections to this origin; null = one per concurrent request. */
  maxConnections: number | null
  /** Most connections being opened at once (MAX_CONNECTING_DEFAULT). */
  maxConnecting?: number
  /** Called once, the first time maxConnections makes a request wait. */
  onLimit?: () => void
  clientOptions: Client.Options
}

/**
 * Connections opened at once per origin. 30,000 users starting together would otherwise send 30,000 SYNs in one
 * burst: the target's listen backlog (511 for nginx and Node) overflows, the kernel drops SYNs that are
 * retried a second or more later, and the first requests measure our own storm. Beyond this many, a request
 * waits for a connection to finish opening (or for one to be free); on loopback 256 at a time still opens
 * thousands of connections per second.
 */
export const MAX_CONNECTING_DEFAULT = 256

/**
 * Connections to one origin: undici Clients (one connection each) handed out idle-first from a stack, so that
 * picking a connection costs the same with 10 or 10,000 of them. undici's Pool scans its whole client list on
 * every dispatch and again on every drain; with thousands of busy connections (a large open-model pool, or
 * thousands of closed-model users against a slow target) that scan took the worker's core and its rate
 * collapsed to a few hundred requests per second. The most recently used connection is reused first, so a
 * quiet period leaves the others idle until undici's keep-alive timeout closes their sockets (a Client then
 * reconnects when it is next used).
 */
export class ConnectionPool {
  private readonly idle: Client[] = []
  private readonly all: Client[] = []
  /** Requests waiting for a connection when maxConnections is reached, oldest first (taken ones cleared). */
  private waiting: Array<Waiting | undefined> = []
  private waitingHead = 0
  private connecting = 0
  /** The most connections ever opening at once (tests and diagnostics). */
  peakConnecting = 0

  constructor(
    private readonly origin: string,
    private options: ConnectionPoolOptions,
  ) {}

  /** Connections opened (or ready to reconnect) so far. */
  get size(): number {
    return this.all.length
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: PooledHandler): void {
    const client = this.idle.pop() ?? this.grow()
    if (client === undefined) {
      this.waiting.push({ opts, handler })
      return
    }
    handler.lease(this, client)
    client.dispatch(opts, handler)
  }

  /** Connections opening now. */
  get opening(): number {
    return this.connecting
  }

  /** Called by a handler once its response ended or failed: the connection serves the next request. */
  release(client: Client): void {
    const next = this.nextWaiting()
    if (next !== undefined) {
      next.handler.lease(this, client)
      client.dispatch(next.opts, next.handler)
      return
    }
    this.idle.push(client)
  }

  /** Lets in-flight requests finish, then closes every connection (a request still waiting for one fails). */
  async close(): Promise<void> {
    await Promise.all(this.all.map((client) => client.close()))
  }

  /** Aborts in-flight and waiting requests at once. */
  async destroy(): Promise<void> {
    const error = new Error('the pool was destroyed')
    const waiting = this.waiting.slice(this.waitingHead)
    this.waiting = []
    this.waitingHead = 0
    for (const item of waiting) item?.handler.onError?.(error)
    await Promise.all(this.all.map((client) => client.destroy(error)))
  }

  private grow(): Client | undefined {
    const max = this.options.maxConnections
    if (max !== null && this.all.length >= max) {
      const onLimit = this.options.onLimit
      if (onLimit !== undefined) {
        this.options = { ...this.options, onLimit: undefined }
        onLimit()
      }
      return undefined
    }
    if (this.connecting >= (this.options.maxConnecting ?? MAX_CONNECTING_DEFAULT)) return undefined
    const client = new Client(this.origin, this.options.clientOptions)
    this.all.push(client)
    // A new Client connects on its first dispatch; until it is up (or failed) it counts as opening.
    this.connecting++
    if (this.connecting > this.peakConnecting) this.peakConnecting = this.connecting
    let opened = false
    const onOpened = (): void => {
      if (opened) return
      opened = true
      client.off('connect', onOpened)
      client.off('connectionError', onOpened)
      this.connecting--
      this.openForWaiting()
    }
    client.on('connect', onOpened)
    client.on('connectionError', onOpened)
    return client
  }

  /** A connection finished opening: open the next ones for requests still waiting, up to the limits. */
  private openForWaiting(): void {
    for (;;) {
      const next = this.nextWaiting()
      if (next === undefined) return
      const client = this.grow()
      if (client === undefined) {
        // Still at a limit: back to the head of the queue.
        if (this.waitingHead > 0) this.waiting[--this.waitingHead] = next
        else this.waiting.unshift(next)
        return
      }
      next.handler.lease(this, client)
      client.dispatch(next.opts, next.handler)
    }
  }

  /** The oldest waiting request still wanted (ones whose user stopped meanwhile fail here, unsent). */
  private nextWaiting(): Waiting | undefined {
    while (this.waitingHead < this.waiting.length) {
      const next = this.waiting[this.waitingHead]
      this.waiting[this.waitingHead++] = undefined
      if (next !== undefined && !next.handler.withdrawIfStopped()) {
        this.compactWaiting()
        return next
      }
    }
    // Emptied: start a fresh queue (not on every release of an idle pool, which is the hot path).
    if (this.waiting.length > 0) {
      this.waiting = []
      this.waitingHead = 0
    }
    return undefined
  }

  private compactWaiting(): void {
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead)
      this.waitingHead = 0
    }
  }
}
