import { describe, expect, it } from 'vitest'
import { encodeToMaster, encodeToWorker } from '../../src/protocol/codec.js'
import type { StatsEntryWire } from '../../src/protocol/messages.js'
import { runPython } from '../helpers/python-msgpack.js'

const NODE = 'horde_0123456789abcdef0123456789abcdef'

function entry(name: string, method: string | null): StatsEntryWire {
  return {
    name,
    method,
    lastRequestTimestamp: 1795454019, // integral on purpose: must still arrive as a Python float
    startTime: 1795454016,
    numRequests: 4,
    numNoneRequests: 0,
    numFailures: 1,
    totalResponseTime: 3724.5,
    maxResponseTime: 3400,
    minResponseTime: null,
    totalContentLength: 20,
    responseTimes: new Map([
      [150, 3],
      [20, 1],
    ]),
    numReqsPerSec: new Map([[1795454016, 4]]),
    numFailPerSec: new Map([[1795454016, 1]]),
  }
}

interface Decoded {
  type: string
  node_id: string
  data: unknown
  types: Record<string, string>
}

/** Python decodes each payload exactly like Locust and reports the Python types of interesting fields. */
async function decodeInPython(payloads: Buffer[]): Promise<Decoded[]> {
  return runPython<Decoded[]>(
    `
def t(value):
    return type(value).__name__
out = []
for text in INPUT:
    msg_type, data, node_id = locust_loads(unhex(text))
    types = {}
    if msg_type == "stats":
        row = data["stats"][0]
        types = {
            "response_times keys": sorted({t(k) for k in row["response_times"]}),
            "num_reqs_per_sec keys": sorted({t(k) for k in row["num_reqs_per_sec"]}),
            "start_time": t(row["start_time"]),
            "last_request_timestamp": t(row["last_request_timestamp"]),
            "min_response_time": t(row["min_response_time"]),
            "first_seen": t(next(iter(data["errors"].values()))["first_seen"]),
            "sent_at": t(data["sent_at"]),
            "missing": t(data["missing"]),
        }
        # What Locust's master does with the buckets: sort and compare them with ints.
        types["sorted buckets"] = sorted(row["response_times"])
    elif msg_type == "spawn":
        types = {"timestamp": t(data["timestamp"]), "stop_timeout": t(data["stop_timeout"]),
                 "parsed_options": t(data["parsed_options"])}
    elif msg_type == "heartbeat" and data:
        types = {"current_cpu_usage": t(data["current_cpu_usage"]), "state": t(data["state"])}
    elif msg_type == "client_ready":
        types = {"data": t(data)}
    out.append({"type": msg_type, "node_id": node_id, "data": view(data), "types": types})
reply(out)
`,
    payloads.map((payload) => payload.toString('hex')),
  )
}

describe('our encodings decode in real Python msgpack (Locust’s loads call)', () => {
  it('stats: int keys, float64 timestamps, nil min, datetimes, no undefined', async () => {
    const [stats] = await decodeInPython([
      encodeToMaster(NODE, {
        type: 'stats',
        report: {
          stats: [entry('/vote', 'POST')],
          statsTotal: entry('Aggregated', ''),
          errors: new Map([
            [
              'k',
              {
                name: '/vote',
                method: 'POST',
                error: 'HTTPError(500)',
                occurrences: 1,
                firstSeen: 1795454017,
                lastSeen: 1795454017,
              },
            ],
          ]),
          userClassesCount: { Voter: 3 },
          userCount: 3,
          extra: { sent_at: new Date(Date.UTC(2026, 10, 23, 17, 18, 3, 123)), missing: undefined },
        },
      }),
    ])
    expect(stats?.types).toEqual({
      'response_times keys': ['int'],
      'num_reqs_per_sec keys': ['int'],
      start_time: 'float',
      last_request_timestamp: 'float',
      min_response_time: 'NoneType',
      first_seen: 'float',
      sent_at: 'datetime',
      missing: 'NoneType',
      'sorted buckets': [20, 150],
    })
    expect(stats?.data).toMatchObject({
      user_classes_count: { Voter: 3 },
      user_count: 3,
      sent_at: { __datetime__: '2026-11-23T17:18:03.123000' },
      errors: { k: { name: '/vote', method: 'POST', error: 'HTTPError(500)', occurrences: 1 } },
    })
  })

  it('spawn: timestamp and stop_timeout are floats even when integral; parsed_options is a map', async () => {
    const [spawn] = await decodeInPython([
      encodeToWorker(NODE, {
        type: 'spawn',
        timestamp: 1795454020,
        userClassesCount: { Voter: 2 },
        host: null,
        stopTimeoutSec: 2,
        parsedOptions: {},
      }),
    ])
    expect(spawn).toEqual({
      type: 'spawn',
      node_id: NODE,
      data: {
        timestamp: { __float__: 1795454020 },
        user_classes_count: { Voter: 2 },
        host: null,
        stop_timeout: { __float__: 2 },
        parsed_options: {},
      },
      types: { timestamp: 'float', stop_timeout: 'float', parsed_options: 'dict' },
    })
  })

  it('every message type arrives as the [type, data, node_id] Locust expects', async () => {
    const decoded = await decodeInPython([
      encodeToMaster(NODE, { type: 'clientReady', version: -1 }),
      encodeToMaster(NODE, { type: 'heartbeat', state: 'ready', cpuPercent: 0, memoryBytes: 1024 }),
      encodeToMaster(NODE, { type: 'spawning' }),
      encodeToMaster(NODE, { type: 'spawningComplete', userClassesCount: { Voter: 2 }, userCount: 2 }),
      encodeToMaster(NODE, { type: 'clientStopped' }),
      encodeToMaster(NODE, { type: 'exception', msg: 'boom', traceback: 'tb' }),
      encodeToMaster(NODE, { type: 'logs', workerId: NODE, logs: ['line'] }),
      encodeToMaster(NODE, { type: 'quit' }),
      encodeToWorker(NODE, { type: 'ack', index: 3 }),
      encodeToWorker(NODE, { type: 'heartbeat' }),
      encodeToWorker(NODE, { type: 'spawningComplete', userCount: 5 }),
      encodeToWorker(NODE, { type: 'stop' }),
      encodeToWorker(NODE, { type: 'reconnect' }),
      encodeToWorker(NODE, { type: 'updateUserClass', data: { user_class_name: 'Voter', weight: 2 } }),
      encodeToWorker(NODE, {
        type: 'custom',
        name: 'my_custom',
        data: { at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) },
      }),
    ])
    expect(decoded.map(({ type, data }) => [type, data])).toEqual([
      ['client_ready', -1],
      ['heartbeat', { state: 'ready', current_cpu_usage: { __float__: 0 }, current_memory_usage: 1024 }],
      ['spawning', null],
      ['spawning_complete', { user_classes_count: { Voter: 2 }, user_count: 2 }],
      ['client_stopped', null],
      ['exception', { msg: 'boom', traceback: 'tb' }],
      ['logs', { worker_id: NODE, logs: ['line'] }],
      ['quit', null],
      ['ack', { index: 3 }],
      ['heartbeat', null],
      ['spawning_complete', { user_count: 5 }],
      ['stop', null],
      ['reconnect', null],
      ['update_user_class', { user_class_name: 'Voter', weight: 2 }],
      ['my_custom', { at: { __datetime__: '2026-01-02T03:04:05' } }],
    ])
    expect(decoded.every((message) => message.node_id === NODE)).toBe(true)
  })
})
