/**
 * The send queue and handler fan-out shared by WorkerSocket and MasterSocket. zeromq@6 rejects a second send
 * while one is pending ("Socket is busy writing"), so messages wait here and one pump hands them to libzmq in
 * order.
 */
import type { Dealer, Router } from 'zeromq'
import type { Logger } from '../shared/logger.js'

/**
 * libzmq already queues 1000 messages per peer (its high-water mark); this bounds what piles up in JavaScript
 * behind that while a master is unreachable. The oldest are dropped first: stale heartbeats are worthless.
 */
const MAX_QUEUED_MESSAGES = 10_000

export type Frames = Buffer | [Buffer, Buffer]

/** Enqueues messages and hands them to the current socket one at a time. */
export class SendPump {
  private readonly queue: Frames[] = []
  private running = false
  private waiters: (() => void)[] = []
  private overflowLogged = false

  constructor(
    private readonly socket: () => Dealer | Router | null,
    private readonly logger: () => Logger,
  ) {}

  push(frames: Frames): void {
    if (this.queue.length >= MAX_QUEUED_MESSAGES) {
      this.queue.shift()
      if (!this.overflowLogged) {
        this.overflowLogged = true
        this.logger().warn({ queued: this.queue.length }, 'send queue full, dropping the oldest messages')
      }
    }
    this.queue.push(frames)
    if (!this.running) void this.run()
  }

  idle(timeoutMs: number): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, timeoutMs))
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.waiters.push(done)
    })
  }

  clear(): void {
    this.queue.length = 0
  }

  private async run(): Promise<void> {
    this.running = true
    try {
      for (let frames = this.queue.shift(); frames; frames = this.queue.shift()) {
        const socket = this.socket()
        if (!socket) {
          this.queue.length = 0
          break
        }
        try {
          await socket.send(frames)
        } catch (error) {
          // A socket closed or replaced (reconnect) while this send waited: the message is lost, as in Locust.
          if (!socket.closed) this.logger().warn({ err: error }, 'zeromq send failed, message dropped')
        }
      }
    } finally {
      this.running = false
      this.overflowLogged = false
      const waiters = this.waiters
      this.waiters = []
      for (const done of waiters) done()
    }
  }
}

/** Calls every handler; one that throws (or rejects) is logged and does not stop the others or the loop. */
export function deliver<A extends unknown[]>(
  handlers: ((...args: A) => unknown)[],
  args: A,
  logger: () => Logger,
): void {
  for (const handler of handlers) {
    try {
      const result = handler(...args)
      if (result instanceof Promise) {
        result.catch((error: unknown) => logger().error({ err: error }, 'message handler rejected'))
      }
    } catch (error) {
      logger().error({ err: error }, 'message handler threw')
    }
  }
}
