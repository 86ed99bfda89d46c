import { describe, expect, it } from 'vitest'
import {
  decodeFromMaster,
  decodeFromWorker,
  encodeToMaster,
  encodeToWorker,
} from '../../src/protocol/codec.js'
import type {
  MasterToWorker,
  StatsEntryWire,
  StatsReport,
  WorkerToMaster,
} from '../../src/protocol/messages.js'
import { loadFixture } from './fixture-manifest.js'

const NODE = 'vm_33abadcbcae840f29d15ec1c13ee875e'

function entry(overrides: Partial<StatsEntryWire> = {}): StatsEntryWire {
  return {
    name: '/vote',
    method: 'POST',
    lastRequestTimestamp: 1795454019.25,
    startTime: 1795454016,
    numRequests: 4,
    numNoneRequests: 0,
    numFailures: 1,
    totalResponseTime: 3724.5,
    maxResponseTime: 3400.25,
    minResponseTime: 11.75,
    totalContentLength: 20,
    responseTimes: new Map([
      [150, 3],
      [20, 1],
    ]),
    numReqsPerSec: new Map([[1795454016, 4]]),
    numFailPerSec: new Map([[1795454016, 1]]),
    ...overrides,
  }
}

function report(overrides: Partial<StatsReport> = {}): StatsReport {
  return {
    stats: [entry()],
    statsTotal: entry({ name: 'Aggregated', method: '' }),
    errors: new Map([
      [
        'abc',
        {
          name: '/vote',
          method: 'POST',
          error: 'HTTPError(500)',
          occurrences: 1,
          firstSeen: 1795454017,
          lastSeen: 1795454018.5,
        },
      ],
    ]),
    userClassesCount: { Voter: 3 },
    userCount: 3,
    extra: { horde: { v: 1, entries: [] } },
    ...overrides,
  }
}

const WORKER_MESSAGES: WorkerToMaster[] = [
  { type: 'clientReady', version: -1 },
  { type: 'clientReady', version: '2.46.3' },
  { type: 'clientReady', version: '' },
  { type: 'clientReady', version: null },
  { type: 'heartbeat', state: 'running', cpuPercent: 12.5, memoryBytes: 52_428_800 },
  { type: 'heartbeat', state: 'ready', cpuPercent: 0, memoryBytes: null },
  { type: 'stats', report: report() },
  { type: 'stats', report: report({ stats: [], errors: new Map(), extra: {} }) },
  { type: 'spawning' },
  { type: 'spawningComplete', userClassesCount: { Voter: 3, Reader: 0 }, userCount: 3 },
  { type: 'clientStopped' },
  { type: 'quit' },
  { type: 'exception', msg: 'boom', traceback: '  File "x.ts", line 1\n' },
  { type: 'logs', workerId: NODE, logs: ['a', 'b'] },
  { type: 'locustfileRequest', version: '2.46.3' },
  {
    type: 'custom',
    name: 'my_reply',
    data: { at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), list: [1, 'x', null] },
  },
]

const MASTER_MESSAGES: MasterToWorker[] = [
  { type: 'ack', index: 0 },
  { type: 'ack', index: null },
  {
    type: 'spawn',
    timestamp: 1795454019.854,
    userClassesCount: { Voter: 2, Reader: 1 },
    host: 'http://127.0.0.1:8080',
    stopTimeoutSec: 2,
    parsedOptions: { my_custom_arg: 'hello', tags: null, spawn_rate: 2.5 },
  },
  {
    type: 'spawn',
    timestamp: 1795454020,
    userClassesCount: {},
    host: null,
    stopTimeoutSec: 0,
    parsedOptions: {},
  },
  { type: 'heartbeat' },
  { type: 'spawningComplete', userCount: 5 },
  { type: 'stop' },
  { type: 'quit' },
  { type: 'reconnect' },
  { type: 'updateUserClass', data: { user_class_name: 'Voter', weight: 3, tasks: ['vote'] } },
  { type: 'locustfileReply', data: { error: 'not supported by Horde' } },
  { type: 'custom', name: 'my_custom', data: 'a string' },
  { type: 'custom', name: 'my_custom', data: null },
]

describe('encode → decode round trips', () => {
  it.each(WORKER_MESSAGES.map((m) => [m.type, m] as const))('worker → master %s', (_, message) => {
    expect(decodeFromWorker(encodeToMaster(NODE, message))).toEqual({
      ok: true,
      envelope: { nodeId: NODE, message },
    })
  })

  it.each(MASTER_MESSAGES.map((m) => [m.type, m] as const))('master → worker %s', (_, message) => {
    expect(decodeFromMaster(encodeToWorker(NODE, message))).toEqual({
      ok: true,
      envelope: { nodeId: NODE, message },
    })
  })
})

describe('bytes on the wire', () => {
  it('client_ready and ack are byte-identical to what Locust sends (§1.5)', () => {
    expect(encodeToMaster(NODE, { type: 'clientReady', version: '2.46.3' })).toEqual(
      loadFixture('locust-latest', 'latest-001-w2m-client_ready.bin').bytes,
    )
    expect(encodeToWorker(NODE, { type: 'ack', index: 0 })).toEqual(
      loadFixture('locust-latest', 'latest-003-m2w-ack.bin').bytes,
    )
    // The documented message frame bodies: 58 and 50 bytes.
    expect(
      encodeToMaster(NODE, { type: 'clientReady', version: '2.46.3' }).subarray(0, 23).toString('hex'),
    ).toBe(
      '93ac' +
        Buffer.from('client_ready').toString('hex') +
        'a6' +
        Buffer.from('2.46.3').toString('hex') +
        'd923',
    )
    expect(encodeToWorker(NODE, { type: 'ack', index: 0 })).toHaveLength(0x32)
  })

  it('integer-keyed maps get real msgpack integer keys (P1): {150:3, 20:1} → 82 cc96 03 14 01', () => {
    const bytes = encodeToMaster(NODE, { type: 'stats', report: report() }).toString('hex')
    expect(bytes).toContain(Buffer.from('response_times').toString('hex') + '82cc96031401')
    expect(bytes).not.toContain(Buffer.from('150').toString('hex'))
  })

  it('timestamps are float64 even when integral (P7/P8)', () => {
    const spawn = encodeToWorker(NODE, {
      type: 'spawn',
      timestamp: 1795454020,
      userClassesCount: {},
      host: null,
      stopTimeoutSec: 0,
      parsedOptions: {},
    }).toString('hex')
    const float64 = (value: number) => {
      const buffer = Buffer.alloc(9)
      buffer[0] = 0xcb
      buffer.writeDoubleBE(value, 1)
      return buffer.toString('hex')
    }
    expect(spawn).toContain(Buffer.from('timestamp').toString('hex') + float64(1795454020))
    expect(spawn).toContain(Buffer.from('stop_timeout').toString('hex') + float64(0))

    const stats = encodeToMaster(NODE, { type: 'stats', report: report() }).toString('hex')
    expect(stats).toContain(Buffer.from('start_time').toString('hex') + float64(1795454016))
    expect(stats).toContain(Buffer.from('first_seen').toString('hex') + float64(1795454017))
  })

  it('never emits undefined (P22) and never msgpackr records', () => {
    const data = { a: undefined, b: [undefined], c: new Map([[1, undefined]]), d: () => 1 }
    const bytes = encodeToWorker(NODE, { type: 'custom', name: 'x', data })
    expect(bytes.toString('hex')).not.toMatch(/d40000/)
    const decoded = decodeFromMaster(bytes)
    expect(decoded).toEqual({
      ok: true,
      envelope: {
        nodeId: NODE,
        message: {
          type: 'custom',
          name: 'x',
          data: { a: null, b: [null], c: new Map([[1, null]]), d: null },
        },
      },
    })
  })

  it('a Date becomes Locust’s datetime map, with microseconds', () => {
    const bytes = encodeToMaster(NODE, {
      type: 'custom',
      name: 'x',
      data: new Date(Date.UTC(2026, 10, 23, 7, 8, 9, 45)),
    })
    expect(bytes.toString()).toContain('__datetime__')
    expect(bytes.toString()).toContain('20261123T07:08:09.045000')
  })

  it('a microsecond datetime keeps its milliseconds', () => {
    const payload = Buffer.concat([
      Buffer.from('93a178', 'hex'),
      Buffer.from('82ac', 'hex'),
      Buffer.from('__datetime__'),
      Buffer.from('c3a6', 'hex'),
      Buffer.from('as_str'),
      Buffer.from('b8', 'hex'),
      Buffer.from('20261123T07:08:09.123456'),
      Buffer.from('a178', 'hex'),
    ])
    expect(decodeFromWorker(payload)).toEqual({
      ok: true,
      envelope: {
        nodeId: 'x',
        message: { type: 'custom', name: 'x', data: new Date(Date.UTC(2026, 10, 23, 7, 8, 9, 123)) },
      },
    })
  })
})
