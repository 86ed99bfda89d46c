import { MasterSocket } from '../../src/protocol/transport.js'
import type { MasterToWorker, WorkerToMaster } from '../../src/protocol/messages.js'

export interface ReceivedMessage {
  atMs: number
  nodeId: string
  message: WorkerToMaster
}

/**
 * Drives a worker over the real wire (our MasterSocket, a ZeroMQ ROUTER on 127.0.0.1:0) and records every
 * message, so tests can assert the exact protocol conversation a Locust master would have.
 */
export class ProtocolDriver {
  readonly received: ReceivedMessage[] = []
  private waiters: Array<{ match: (m: ReceivedMessage) => boolean; resolve: (m: ReceivedMessage) => void }> =
    []

  private constructor(readonly socket: MasterSocket) {
    socket.onMessage((nodeId, envelope) => {
      const entry = { atMs: Date.now(), nodeId, message: envelope.message }
      this.received.push(entry)
      if (envelope.message.type === 'heartbeat') socket.send(nodeId, { type: 'heartbeat' })
      for (const waiter of [...this.waiters]) {
        if (waiter.match(entry)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1)
          waiter.resolve(entry)
        }
      }
    })
  }

  static async start(): Promise<ProtocolDriver> {
    return new ProtocolDriver(await MasterSocket.bind({ host: '127.0.0.1', port: 0 }))
  }

  get port(): number {
    return this.socket.port
  }

  send(nodeId: string, message: MasterToWorker): void {
    this.socket.send(nodeId, message)
  }

  /** The first message (already received or future) of this type, after index `from`. */
  next<T extends WorkerToMaster['type']>(
    type: T,
    timeoutMs = 10_000,
    from = 0,
  ): Promise<ReceivedMessage & { message: Extract<WorkerToMaster, { type: T }> }> {
    const match = (m: ReceivedMessage) => m.message.type === type
    const existing = this.received.slice(from).find(match)
    type Result = ReceivedMessage & { message: Extract<WorkerToMaster, { type: T }> }
    if (existing) return Promise.resolve(existing as Result)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs)
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer)
          resolve(m as Result)
        },
      })
    })
  }

  /** Registers the worker that sent client_ready: ack with an index, as Locust does. */
  async acceptWorker(index = 0): Promise<string> {
    const ready = await this.next('clientReady')
    this.send(ready.nodeId, { type: 'ack', index })
    return ready.nodeId
  }

  spawn(
    nodeId: string,
    userClassesCount: Record<string, number>,
    stopTimeoutSec = 0,
    host: string | null = null,
  ): void {
    this.send(nodeId, {
      type: 'spawn',
      timestamp: Date.now() / 1000 + Math.random() / 1000,
      userClassesCount,
      host,
      stopTimeoutSec,
      parsedOptions: {},
    })
  }

  async close(): Promise<void> {
    await this.socket.close()
  }
}
