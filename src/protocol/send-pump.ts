/**
 * The send queue and handler fan-out shared by WorkerSocket and MasterSocket. zeromq@6 rejects a second send
 * while one is pending ("Socket is busy writing"), so messages wait here and one pump hands them to libzmq in
 * order.
 */
import type { Dealer, Router } from 'zeromq'
import type { Logger } from '../shared/logger.js'
import { TurnBudget, nextTurn } from '../shared/turn-budget.js'

/**
 * libzmq already queues 1000 messages per peer (its high-water mark); this bounds what piles up in JavaScript
 * behind that while a master is unreachable. The oldest are dropped first: stale heartbeats are worthless.
 */
const MAX_QUEUED_MESSAGES = 10_000

/**
 * How long the pump hands messages to libzmq in one event-loop turn: libzmq takes them without waiting, so 1,000
 * heartbeat replies or spawns would otherwise go out in one turn (turn-budget.ts).
 */
const SEND_SLICE_MS = 3

export type Frames = Buffer | [Buffer, Buffer]
/** Frames, or a function that encodes them when their turn comes (null: it could not, and said so). */
export type Outgoing = Frames | (() => Frames | null)

/** Enqueues messages and hands them to the current socket one at a time. */
export class SendPump {
  private readonly queue: Outgoing[] = []
  private running = false
  private waiters: (() => void)[] = []
  private overflowLogged = false

  constructor(
    private readonly socket: () => Dealer | Router | null,
    private readonly logger: () => Logger,
  ) {}

  push(frames: Outgoing): void {
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
    const budget = new TurnBudget(SEND_SLICE_MS)
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        const socket = this.socket()
        if (!socket) {
          this.queue.length = 0
          break
        }
        budget.begin()
        const frames = typeof next === 'function' ? next() : next
        if (frames === null) continue
        try {
          await socket.send(frames)
          if (budget.spent() && this.queue.length > 0) await nextTurn()
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
