/**
 * ZeroMQ transport with Locust's socket layout (locust-protocol.md §1): the worker is a DEALER whose routing id
 * is its node id, the master a ROUTER. Frames carry codec.ts payloads, one per message, with no empty
 * delimiter (P4): a DEALER sends [payload], a ROUTER sends [routingId, payload].
 *
 * zeromq@6 allows one pending send per socket ("Socket is busy writing"), so send() only enqueues and a
 * single pump hands messages to libzmq in order; callers never block and never see a send error.
 */
import { randomUUID } from 'node:crypto'
import { hostname as osHostname } from 'node:os'
import { Dealer, Router } from 'zeromq'
import { ProtocolError } from '../shared/errors.js'
import { createLogger, type Logger } from '../shared/logger.js'
import { decodeFromMaster, decodeFromWorker, encodeToMaster, encodeToWorker } from './codec.js'
import type { Envelope, MasterToWorker, WorkerToMaster } from './messages.js'
import { SendPump, deliver, type Outgoing } from './send-pump.js'
import { TurnBudget, nextTurn } from '../shared/turn-budget.js'

/** Like Locust (§1.4): keep idle master↔worker connections alive through NAT and firewalls. */
const KEEPALIVE_OPTIONS = { tcpKeepalive: 1, tcpKeepaliveIdle: 30 } as const

/**
 * ZMTP 3.1 PING every second from the worker; no PONG (or other traffic) for 3 s drops the connection. This is
 * transport-level and invisible to Locust's message loop, which never sees these frames.
 */
const ZMTP_HEARTBEAT_OPTIONS = { heartbeatInterval: 1000, heartbeatTimeout: 3000 } as const

const MAX_ROUTING_ID_BYTES = 255

/**
 * Largest inbound message libzmq accepts (ZMQ_MAXMSGSIZE); a peer that sends a larger one is disconnected
 * before its frame is buffered. Without it a single frame header claiming 4 GB made a master allocate 1.1 GB.
 * The largest honest message is a stats report: even 2,000 endpoints with Horde histograms stay under a few
 * MB, so 64 MiB leaves wide room while bounding what a stray peer can make us hold per connection.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
const utf8 = new TextDecoder('utf-8', { fatal: true })
/** Workers whose heartbeat reply a master keeps encoded (each a few dozen bytes). */
const MAX_CACHED_HEARTBEAT_REPLIES = 10_000
/**
 * How long the master reads and decodes frames in one event-loop turn before it lets timers and I/O in. A stats
 * report from a worker with 50 endpoints decodes in about 0.5 ms, so a burst of hundreds arriving together would
 * otherwise be one turn of hundreds of ms (turn-budget.ts). With the merge slice and the send slice a turn
 * stays well under 20 ms.
 */
const RECEIVE_SLICE_MS = 4

/**
 * A worker node id as Locust and Boomer make it (§1.2): `<hostname>_<uuid4 hex>`. Locust's dispatcher treats
 * the part before the first `_` as the machine (P24). The hostname is shortened if the id would exceed
 * ZeroMQ's 255-byte routing id limit.
 */
export function makeNodeId(hostname: string = osHostname()): string {
  const suffix = `_${randomUUID().replaceAll('-', '')}`
  let host = hostname || 'horde'
  while (Buffer.byteLength(host + suffix) > MAX_ROUTING_ID_BYTES) host = host.slice(0, -1)
  return host + suffix
}

export interface WorkerSocketOptions {
  host: string
  port: number
  /** Also the ZeroMQ routing id; must equal the node_id in every payload (P3). */
  nodeId: string
  /** Where handler errors and send failures are logged; a worker logger by default. */
  logger?: Logger
  /** Inbound message size limit (DEFAULT_MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number
}

export interface MasterSocketOptions {
  /** Interface to bind, e.g. '*' or '127.0.0.1'. */
  host: string
  /** 0 binds a random free port; read it back from MasterSocket.port. */
  port: number
  logger?: Logger
  /** Inbound message size limit (DEFAULT_MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number
}

export interface CloseOptions {
  /**
   * How long libzmq may keep trying to deliver messages already handed to it. 0 (the default, as Locust's
   * reset_connection) discards them; a worker that just sent its final stats and `quit` should flush() and
   * then close with a short linger so those frames reach the master.
   */
  lingerMs?: number
}

function endpoint(host: string, port: number | '*'): string {
  return host.includes(':') && !host.startsWith('[') ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`
}

/** The worker side: a DEALER connected to the master, identity = node id. */
export class WorkerSocket {
  private socket: Dealer | null = null
  private readonly messageHandlers: ((message: MasterToWorker) => void)[] = []
  private readonly dropHandlers: ((reason: string) => void)[] = []
  private readonly connectionHandlers: ((connected: boolean) => void)[] = []
  private readonly pump = new SendPump(
    () => this.socket,
    () => this.log(),
  )
  private logger: Logger | undefined

  private constructor(
    private readonly address: string,
    private readonly nodeId: string,
    logger: Logger | undefined,
    private readonly maxMessageBytes: number,
  ) {
    this.logger = logger
  }

  /** Creates the DEALER and connects; messages sent before the TCP connection is up are queued by libzmq. */
  static connect(options: WorkerSocketOptions): WorkerSocket {
    const bytes = Buffer.byteLength(options.nodeId)
    if (bytes < 1 || bytes > MAX_ROUTING_ID_BYTES || options.nodeId.charCodeAt(0) === 0) {
      throw new ProtocolError(
        'HORDE_ERR_PROTOCOL_NODE_ID',
        `A worker node id must be 1–255 bytes and not start with a zero byte, received ${JSON.stringify(options.nodeId)}. Use makeNodeId().`,
      )
    }
    const worker = new WorkerSocket(
      endpoint(options.host, options.port),
      options.nodeId,
      options.logger,
      options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    )
    worker.open()
    return worker
  }

  /** Queues a message for the master. Never throws; an unencodable message is reported to onDrop. */
  send(message: WorkerToMaster): void {
    if (!this.socket) return
    let payload: Buffer
    try {
      payload = encodeToMaster(this.nodeId, message)
    } catch (error) {
      this.drop(`could not encode an outgoing ${message.type} message: ${(error as Error).message}`)
      return
    }
    this.pump.push(payload)
  }

  /** Resolves once every queued message was handed to libzmq, or after timeoutMs. Never rejects. */
  flush(timeoutMs: number): Promise<void> {
    return this.pump.idle(timeoutMs)
  }

  onMessage(handler: (message: MasterToWorker) => void): void {
    this.messageHandlers.push(handler)
  }

  /** Frames that could not be decoded or validated, with the reason; the frame itself is dropped. */
  onDrop(handler: (reason: string) => void): void {
    this.dropHandlers.push(handler)
  }

  /**
   * The TCP connection to the master came up (true) or went down (false). A master that was killed drops the
   * connection at once; one that hangs is caught by ZMTP heartbeats (libzmq answers PINGs on any ZMTP 3.1
   * peer, Locust's included), so a worker can stop its load even under a Locust master that never sends
   * heartbeats of its own (2.12.1).
   */
  onConnectionChange(handler: (connected: boolean) => void): void {
    this.connectionHandlers.push(handler)
  }

  /**
   * Locust's `reconnect` (§3.2.7): close the DEALER and open a new one with the same identity. Queued messages
   * go out on the new socket; one caught mid-send on the old socket is lost.
   */
  reconnect(): void {
    if (!this.socket) return
    const old = this.socket
    this.open()
    old.linger = 0
    old.close()
  }

  async close(options: CloseOptions = {}): Promise<void> {
    const socket = this.socket
    if (!socket) return
    this.socket = null
    this.pump.clear()
    socket.linger = options.lingerMs ?? 0
    socket.close()
    await this.pump.idle(1000)
  }

  private open(): void {
    const socket = new Dealer({
      routingId: this.nodeId,
      maxMessageSize: this.maxMessageBytes,
      ...KEEPALIVE_OPTIONS,
      ...ZMTP_HEARTBEAT_OPTIONS,
    })
    const notify = (connected: boolean) => {
      if (this.socket === socket) deliver(this.connectionHandlers, [connected], () => this.log())
    }
    socket.events.on('connect', () => notify(true))
    socket.events.on('disconnect', () => notify(false))
    socket.connect(this.address)
    this.socket = socket
    void this.receive(socket)
  }

  private async receive(socket: Dealer): Promise<void> {
    try {
      for await (const frames of socket) {
        // A DEALER receives exactly one frame per master message (§1.3); Locust reads only that one. Like
        // Python workers (and unlike Boomer) a node_id other than ours is still delivered: the ROUTER already
        // addressed this connection, and the locustfile download uses a different, temporary id.
        const frame = frames[0]
        const result = frame
          ? decodeFromMaster(frame)
          : { ok: false as const, reason: 'received an empty message' }
        if (result.ok) deliver(this.messageHandlers, [result.envelope.message], () => this.log())
        else this.drop(result.reason)
      }
    } catch (error) {
      if (!socket.closed) this.log().error({ err: error }, 'worker socket receive loop stopped')
    }
  }

  private drop(reason: string): void {
    if (this.dropHandlers.length === 0) this.log().warn({ reason }, 'dropped a frame from the master')
    deliver(this.dropHandlers, [reason], () => this.log())
  }

  private log(): Logger {
    this.logger ??= createLogger({ role: 'worker', workerId: this.nodeId })
    return this.logger
  }
}

/** The master side: a ROUTER bound to host:port; each worker is addressed by its routing id. */
export class MasterSocket {
  private socket: Router | null
  private readonly messageHandlers: ((routingId: string, envelope: Envelope<WorkerToMaster>) => void)[] = []
  private readonly dropHandlers: ((routingId: string | null, reason: string) => void)[] = []
  private readonly pump = new SendPump(
    () => this.socket,
    () => this.log(),
  )
  private logger: Logger | undefined
  private readonly heartbeatReplies = new Map<string, [Buffer, Buffer]>()

  private constructor(
    socket: Router,
    readonly port: number,
    logger: Logger | undefined,
  ) {
    this.socket = socket
    this.logger = logger
  }

  /**
   * Binds the ROUTER. `handover` lets a worker that reconnects with the same id take over its old connection
   * instead of being silently refused by libzmq (P21). Rejects with a ProtocolError if the port is taken.
   */
  static async bind(options: MasterSocketOptions): Promise<MasterSocket> {
    const socket = new Router({
      handover: true,
      maxMessageSize: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      ...KEEPALIVE_OPTIONS,
    })
    const address = endpoint(options.host, options.port === 0 ? '*' : options.port)
    try {
      await socket.bind(address)
    } catch (error) {
      socket.close()
      throw new ProtocolError(
        'HORDE_ERR_PROTOCOL_BIND',
        `Could not bind the master socket to ${address}: ${(error as Error).message}. Choose another port or stop the process using it.`,
        { cause: error },
      )
    }
    const port = Number(/:(\d+)$/.exec(socket.lastEndpoint ?? '')?.[1] ?? options.port)
    const master = new MasterSocket(socket, port, options.logger)
    void master.receive(socket)
    return master
  }

  /** Queues a message for one worker. Never throws; libzmq silently drops messages to unknown ids. */
  send(nodeId: string, message: MasterToWorker): void {
    if (!this.socket) return
    if (message.type === 'heartbeat') {
      this.pump.push(this.heartbeatFrames(nodeId))
      return
    }
    // Encoded when the pump gets to it, inside its time-boxed slices: a spawn to each of 1,000 workers at once
    // would otherwise be encoded in the caller's turn.
    const outgoing: Outgoing = () => {
      try {
        return [Buffer.from(nodeId), encodeToWorker(nodeId, message)]
      } catch (error) {
        this.drop(nodeId, `could not encode an outgoing ${message.type} message: ${(error as Error).message}`)
        return null
      }
    }
    this.pump.push(outgoing)
  }

  /**
   * A master answers every worker's heartbeat every second, always with the same bytes: encoded once per worker
   * (libzmq only reads the buffers). Bounded: a master that has seen more ids than this starts over.
   */
  private heartbeatFrames(nodeId: string): [Buffer, Buffer] {
    let frames = this.heartbeatReplies.get(nodeId)
    if (frames === undefined) {
      if (this.heartbeatReplies.size >= MAX_CACHED_HEARTBEAT_REPLIES) this.heartbeatReplies.clear()
      frames = [Buffer.from(nodeId), encodeToWorker(nodeId, { type: 'heartbeat' })]
      this.heartbeatReplies.set(nodeId, frames)
    }
    return frames
  }

  /** `routingId` is the ZeroMQ identity of the connection; `envelope.nodeId` is what the payload claims. */
  onMessage(handler: (routingId: string, envelope: Envelope<WorkerToMaster>) => void): void {
    this.messageHandlers.push(handler)
  }

  onDrop(handler: (routingId: string | null, reason: string) => void): void {
    this.dropHandlers.push(handler)
  }

  async close(options: CloseOptions = {}): Promise<void> {
    const socket = this.socket
    if (!socket) return
    this.socket = null
    this.pump.clear()
    socket.linger = options.lingerMs ?? 0
    socket.close()
    await this.pump.idle(1000)
  }

  /**
   * How long the master has had unread frames waiting without a break (ms): 0 when it read all there was. A
   * master whose receive loop never catches up says so (stats-intake.ts), since its liveness view lags.
   */
  receiveBacklogMs(nowMs = Date.now()): number {
    return this.backlogSinceMs === null ? 0 : nowMs - this.backlogSinceMs
  }

  private backlogSinceMs: number | null = null

  private async receive(socket: Router): Promise<void> {
    const budget = new TurnBudget(RECEIVE_SLICE_MS)
    try {
      for await (const frames of socket) {
        budget.begin()
        this.handle(frames)
        if (!socket.readable) this.backlogSinceMs = null
        else if (budget.spent()) {
          this.backlogSinceMs ??= Date.now()
          await nextTurn()
        }
      }
    } catch (error) {
      if (!socket.closed) this.log().error({ err: error }, 'master socket receive loop stopped')
    }
  }

  private handle(frames: Buffer[]): void {
    const [idFrame, payload] = frames
    let routingId: string | null = null
    try {
      routingId = idFrame ? utf8.decode(idFrame) : null
    } catch {
      // Locust fails the same way (bad UTF-8 routing id, §3.2.7); nothing can be sent back without a name.
    }
    if (routingId === null) {
      this.drop(null, `the routing id is not valid UTF-8 (${idFrame?.toString('hex') ?? 'missing'})`)
      return
    }
    if (!payload) {
      this.drop(routingId, 'the message has no payload frame')
      return
    }
    const result = decodeFromWorker(payload)
    if (result.ok) deliver(this.messageHandlers, [routingId, result.envelope], () => this.log())
    else this.drop(routingId, result.reason)
  }

  private drop(routingId: string | null, reason: string): void {
    if (this.dropHandlers.length === 0)
      this.log().warn({ routingId, reason }, 'dropped a frame from a worker')
    deliver(this.dropHandlers, [routingId, reason], () => this.log())
  }

  private log(): Logger {
    this.logger ??= createLogger({ role: 'master' })
    return this.logger
  }
}
