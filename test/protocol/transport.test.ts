import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Dealer } from 'zeromq'
import type { Envelope, MasterToWorker, WorkerToMaster } from '../../src/protocol/messages.js'
import { packValue } from '../../src/protocol/wire-values.js'
import { MasterSocket, WorkerSocket, makeNodeId } from '../../src/protocol/transport.js'
import { createLogger } from '../../src/shared/logger.js'
import { startPython, type PythonProcess } from '../helpers/python-msgpack.js'

// Handler errors are logged by the transport; keep them out of the test output but still exercise the logger.
const quietLogger = createLogger({ role: 'worker', level: 'silent' })

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function bindMaster(): Promise<MasterSocket> {
  const master = await MasterSocket.bind({ host: '127.0.0.1', port: 0, logger: quietLogger })
  cleanups.push(() => master.close())
  return master
}

function connectWorker(port: number, nodeId = makeNodeId('test')): WorkerSocket {
  const worker = WorkerSocket.connect({ host: '127.0.0.1', port, nodeId, logger: quietLogger })
  cleanups.push(() => worker.close())
  return worker
}

function collectMaster(master: MasterSocket) {
  const received: { routingId: string; envelope: Envelope<WorkerToMaster> }[] = []
  const dropped: { routingId: string | null; reason: string }[] = []
  master.onMessage((routingId, envelope) => received.push({ routingId, envelope }))
  master.onDrop((routingId, reason) => dropped.push({ routingId, reason }))
  return { received, dropped }
}

function collectWorker(worker: WorkerSocket) {
  const received: MasterToWorker[] = []
  const dropped: string[] = []
  worker.onMessage((message) => received.push(message))
  worker.onDrop((reason) => dropped.push(reason))
  return { received, dropped }
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('makeNodeId', () => {
  it('is <hostname>_<32 hex> like Locust and Boomer', () => {
    expect(makeNodeId('vm')).toMatch(/^vm_[0-9a-f]{32}$/)
    expect(makeNodeId('vm')).not.toBe(makeNodeId('vm'))
    expect(Buffer.byteLength(makeNodeId('h'.repeat(400)))).toBe(255)
  })

  it('a bad node id is refused with a stable code', () => {
    expect(() => WorkerSocket.connect({ host: '127.0.0.1', port: 1, nodeId: '' })).toThrow(
      expect.objectContaining({ code: 'HORDE_ERR_PROTOCOL_NODE_ID' }),
    )
  })
})

describe('WorkerSocket ↔ MasterSocket on loopback', () => {
  it('heartbeat replies (encoded once per worker and reused) reach each worker as its own, every time', async () => {
    const master = await bindMaster()
    const m = collectMaster(master)
    const ids = [makeNodeId('one'), makeNodeId('two')]
    const workers = ids.map((id) => connectWorker(master.port, id))
    const received = workers.map((worker) => collectWorker(worker))
    for (const worker of workers) worker.send({ type: 'clientReady', version: -1 })
    await until(() => m.received.length === 2, 'both client_ready')
    for (let i = 0; i < 3; i++) for (const id of ids) master.send(id, { type: 'heartbeat' })
    master.send(ids[0] as string, { type: 'ack', index: 0 })
    await until(() => received[0]?.received.length === 4 && received[1]?.received.length === 3, 'replies')
    expect(received[0]?.received).toEqual([
      { type: 'heartbeat' },
      { type: 'heartbeat' },
      { type: 'heartbeat' },
      { type: 'ack', index: 0 },
    ])
    expect(received[1]?.received).toEqual([
      { type: 'heartbeat' },
      { type: 'heartbeat' },
      { type: 'heartbeat' },
    ])
    expect([...received[0]!.dropped, ...received[1]!.dropped]).toEqual([])
  })

  it('exchanges typed messages; routing id = node id; a burst of sends stays ordered', async () => {
    const master = await bindMaster()
    expect(master.port).toBeGreaterThan(0)
    const m = collectMaster(master)
    const nodeId = makeNodeId('loopback')
    const worker = connectWorker(master.port, nodeId)
    const w = collectWorker(worker)

    worker.send({ type: 'clientReady', version: -1 })
    await until(() => m.received.length === 1, 'client_ready')
    expect(m.received[0]).toEqual({
      routingId: nodeId,
      envelope: { nodeId, message: { type: 'clientReady', version: -1 } },
    })

    master.send(nodeId, { type: 'ack', index: 0 })
    const spawn: MasterToWorker = {
      type: 'spawn',
      timestamp: 1795454019.5,
      userClassesCount: { Voter: 2 },
      host: 'http://127.0.0.1:1',
      stopTimeoutSec: 1,
      parsedOptions: {},
    }
    master.send(nodeId, spawn)
    master.send('somebody_else', { type: 'quit' }) // unknown id: libzmq drops it silently
    await until(() => w.received.length === 2, 'ack and spawn')
    expect(w.received).toEqual([{ type: 'ack', index: 0 }, spawn])

    // zeromq allows one pending send per socket; 500 synchronous sends must neither throw nor reorder.
    for (let i = 0; i < 500; i++)
      worker.send({ type: 'heartbeat', state: 'running', cpuPercent: i, memoryBytes: null })
    await worker.flush(5000)
    await until(() => m.received.length === 501, '500 heartbeats')
    const cpu = m.received
      .slice(1)
      .map(({ envelope }) => (envelope.message.type === 'heartbeat' ? envelope.message.cpuPercent : -1))
    expect(cpu).toEqual([...Array(500).keys()])
    expect(m.dropped).toEqual([])
    expect(w.dropped).toEqual([])
  })

  it('a throwing or rejecting handler does not stop delivery', async () => {
    const master = await bindMaster()
    const m = collectMaster(master)
    master.onMessage(() => {
      throw new Error('handler bug')
    })
    master.onMessage(async () => Promise.reject(new Error('async handler bug')))
    const nodeId = makeNodeId('throwing')
    const worker = connectWorker(master.port, nodeId)
    worker.onMessage(() => {
      throw new Error('worker handler bug')
    })
    const w = collectWorker(worker)

    worker.send({ type: 'clientReady', version: -1 })
    worker.send({ type: 'spawning' })
    await until(() => m.received.length === 2, 'both messages despite the throwing handler')
    master.send(nodeId, { type: 'heartbeat' })
    master.send(nodeId, { type: 'stop' })
    await until(() => w.received.length === 2, 'both replies despite the throwing handler')
    expect(w.received).toEqual([{ type: 'heartbeat' }, { type: 'stop' }])
  })

  it('drops undecodable frames and malformed messages with a reason and keeps receiving', async () => {
    const master = await bindMaster()
    const m = collectMaster(master)
    const raw = new Dealer({ routingId: 'raw_peer', linger: 0 })
    cleanups.push(() => raw.close())
    raw.connect(`tcp://127.0.0.1:${master.port}`)
    await raw.send(Buffer.from([0xc1, 0x00]))
    await raw.send(packValue(['quit', null, 'raw_peer']).subarray(0, 10)) // truncated
    await raw.send(packValue(['heartbeat', null, 'raw_peer'])) // decodable but malformed (P14)
    await raw.send(Buffer.alloc(0)) // an empty payload frame
    await until(() => m.dropped.length === 4, 'four drops')
    expect(m.dropped.map((drop) => drop.routingId)).toEqual(['raw_peer', 'raw_peer', 'raw_peer', 'raw_peer'])
    expect(m.dropped[0]?.reason).toMatch(/undecodable 2-byte frame from the worker: byte 0xc1/)
    expect(m.dropped[1]?.reason).toMatch(/undecodable 10-byte frame from the worker: truncated at byte/)
    expect(m.dropped[2]?.reason).toBe('heartbeat: data must be a map with string keys, received nil')
    expect(m.dropped[3]?.reason).toBe('undecodable 0-byte frame from the worker: the frame is empty')

    // Two frames: like Locust, the master reads the payload frame and ignores the rest.
    await raw.send([packValue(['quit', null, 'raw_peer']), Buffer.from('extra')])
    await until(() => m.received.length === 1, 'a valid message after the drops')
    expect(m.received[0]).toEqual({
      routingId: 'raw_peer',
      envelope: { nodeId: 'raw_peer', message: { type: 'quit' } },
    })
  })

  it('reconnect() keeps the identity; handover lets the new connection replace the old one', async () => {
    const master = await bindMaster()
    const m = collectMaster(master)
    const nodeId = makeNodeId('reconnect')
    const worker = connectWorker(master.port, nodeId)
    const w = collectWorker(worker)
    worker.send({ type: 'clientReady', version: -1 })
    await until(() => m.received.length === 1, 'client_ready')

    worker.reconnect()
    worker.send({ type: 'heartbeat', state: 'ready', cpuPercent: 1, memoryBytes: 2 })
    await until(() => m.received.length === 2, 'heartbeat on the new socket')
    expect(m.received[1]?.routingId).toBe(nodeId)
    master.send(nodeId, { type: 'ack', index: 1 })
    await until(() => w.received.length === 1, 'ack on the new socket')
  })

  it('flush() then close({ lingerMs }) delivers the final messages; close is idempotent; send after close is a no-op', async () => {
    const master = await bindMaster()
    const m = collectMaster(master)
    const nodeId = makeNodeId('closing')
    const worker = WorkerSocket.connect({ host: '127.0.0.1', port: master.port, nodeId, logger: quietLogger })
    cleanups.push(() => worker.close())
    worker.send({ type: 'clientReady', version: -1 })
    await until(() => m.received.length === 1, 'client_ready')
    worker.send({ type: 'clientStopped' })
    worker.send({ type: 'quit' })
    await worker.flush(1000)
    await worker.close({ lingerMs: 1000 })
    await worker.close()
    expect(() => worker.send({ type: 'quit' })).not.toThrow()
    await until(() => m.received.length === 3, 'client_stopped and quit')
    expect(m.received.map(({ envelope }) => envelope.message.type)).toEqual([
      'clientReady',
      'clientStopped',
      'quit',
    ])
  })

  it('binding a busy port rejects with a ProtocolError', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const { port } = server.address() as { port: number }
    await expect(MasterSocket.bind({ host: '127.0.0.1', port, logger: quietLogger })).rejects.toMatchObject({
      code: 'HORDE_ERR_PROTOCOL_BIND',
    })
  })
})

describe('talking to real pyzmq sockets (the Locust side)', () => {
  let python: PythonProcess | undefined
  afterEach(async () => {
    await python?.stop()
    python = undefined
  })

  it('WorkerSocket ↔ a pyzmq ROUTER: one frame each way, Locust-encoded replies decode', async () => {
    python = startPython(
      `
import zmq
ctx = zmq.Context()
router = ctx.socket(zmq.ROUTER)
router.setsockopt(zmq.LINGER, 0)
router.setsockopt(zmq.RCVTIMEO, 10000)
port = router.bind_to_random_port("tcp://127.0.0.1")
print(json.dumps({"port": port}), flush=True)
def receive():
    frames = router.recv_multipart()
    message = locust_loads(frames[1])
    print(json.dumps({"nframes": len(frames), "routing_id": frames[0].decode(), "message": view(list(message))}), flush=True)
    return frames[0], message
ident, message = receive()
node = message[2]
router.send_multipart([ident, b"\\xc1garbage"])
router.send_multipart([ident, locust_dumps(("ack", {"index": 7}, node))])
router.send_multipart([ident, locust_dumps(("spawn", {"timestamp": 1795454019.5, "user_classes_count": {"A": 2},
    "host": "http://x", "stop_timeout": 1, "parsed_options": {"my_arg": "v"}}, node))])
receive()
router.close(0)
ctx.term()
`,
      null,
    )
    const { port } = await python.line<{ port?: number }>((value) => value.port !== undefined)
    const nodeId = makeNodeId('pyrouter')
    const worker = connectWorker(port ?? 0, nodeId)
    const w = collectWorker(worker)

    worker.send({ type: 'clientReady', version: -1 })
    const first = await python.line<{ nframes?: number }>((value) => value.nframes !== undefined)
    expect(first).toEqual({ nframes: 2, routing_id: nodeId, message: ['client_ready', -1, nodeId] })

    await until(() => w.received.length === 2 && w.dropped.length === 1, 'ack, spawn and one drop')
    expect(w.dropped[0]).toMatch(/byte 0xc1/)
    expect(w.received).toEqual([
      { type: 'ack', index: 7 },
      {
        type: 'spawn',
        timestamp: 1795454019.5,
        userClassesCount: { A: 2 },
        host: 'http://x',
        stopTimeoutSec: 1,
        parsedOptions: { my_arg: 'v' },
      },
    ])

    worker.send({ type: 'spawning' })
    const second = await python.line<{ message?: unknown[] }>((value) => value.message?.[0] === 'spawning')
    expect(second).toEqual({ nframes: 2, routing_id: nodeId, message: ['spawning', null, nodeId] })
  })

  it('MasterSocket ← a pyzmq DEALER sending what a 2.12.1 worker sends (float bucket keys)', async () => {
    const master = await bindMaster()
    const m = collectMaster(master)
    const nodeId = makeNodeId('pydealer')
    python = startPython(
      `
import zmq, time
ctx = zmq.Context()
dealer = ctx.socket(zmq.DEALER)
dealer.setsockopt(zmq.LINGER, 0)
dealer.setsockopt(zmq.IDENTITY, INPUT["node"].encode())
dealer.setsockopt(zmq.RCVTIMEO, 10000)
dealer.connect("tcp://127.0.0.1:%d" % INPUT["port"])
node = INPUT["node"]
entry = {"name": "/slow", "method": "GET", "last_request_timestamp": 1795454019.5, "start_time": 1795454016.25,
         "num_requests": 3, "num_none_requests": 0, "num_failures": 0, "total_response_time": 460.5,
         "max_response_time": 160.25, "min_response_time": 150.0, "total_content_length": 15,
         "response_times": {150.0: 2, 160.0: 1}, "num_reqs_per_sec": {1795454016: 3}, "num_fail_per_sec": {}}
dealer.send(msgpack.dumps(("client_ready", "", node)))
dealer.send(msgpack.dumps(("stats", {"stats": [entry], "stats_total": dict(entry, name="Aggregated", method=None),
    "errors": {}, "user_classes_count": {"SlowUser": 1}, "user_count": 1}, node)))
frames = dealer.recv_multipart()
print(json.dumps({"nframes": len(frames), "message": view(list(locust_loads(frames[0])))}), flush=True)
dealer.close(0)
ctx.term()
`,
      { port: master.port, node: nodeId },
    )
    await until(() => m.received.length === 2, 'client_ready and stats from Python')
    expect(m.received[0]).toEqual({
      routingId: nodeId,
      envelope: { nodeId, message: { type: 'clientReady', version: '' } },
    })
    const stats = m.received[1]?.envelope.message
    expect(stats?.type === 'stats' && stats.report.stats[0]?.responseTimes).toEqual(
      new Map([
        [150, 2],
        [160, 1],
      ]),
    )
    expect(stats?.type === 'stats' && stats.report.statsTotal.method).toBe(null)

    master.send(nodeId, { type: 'ack', index: 0 })
    const reply = await python.line<{ nframes?: number }>((value) => value.nframes !== undefined)
    expect(reply).toEqual({ nframes: 1, message: ['ack', { index: 0 }, nodeId] })
  })
})
