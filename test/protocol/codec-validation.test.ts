import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decodeFromMaster, decodeFromWorker } from '../../src/protocol/codec.js'
import { packValue } from '../../src/protocol/wire-values.js'

const NODE = 'host_0123456789abcdef0123456789abcdef'
const wire = (type: unknown, data: unknown, nodeId: unknown = NODE) => packValue([type, data, nodeId])

function statsEntry(overrides: Record<string, unknown> = {}) {
  return {
    name: 'Aggregated',
    method: '',
    last_request_timestamp: 1795454019.5,
    start_time: 1795454016.25,
    num_requests: 2,
    num_none_requests: 0,
    num_failures: 0,
    total_response_time: 30.5,
    max_response_time: 20.5,
    min_response_time: 10,
    total_content_length: 10,
    response_times: new Map([
      [10, 1],
      [20, 1],
    ]),
    num_reqs_per_sec: new Map([[1795454016, 2]]),
    num_fail_per_sec: new Map(),
    ...overrides,
  }
}
const statsData = (overrides: Record<string, unknown> = {}) => ({
  stats: [],
  stats_total: statsEntry(),
  errors: {},
  user_classes_count: { A: 1 },
  user_count: 1,
  ...overrides,
})

function reasonOf(result: { ok: boolean; reason?: string }): string {
  expect(result.ok).toBe(false)
  return result.reason ?? ''
}

describe('malformed frames are rejected with a reason, never thrown', () => {
  it.each([
    [
      'heartbeat without state',
      wire('heartbeat', { current_cpu_usage: 1 }),
      /^heartbeat: data\.state is missing, received nothing$/,
    ],
    [
      'heartbeat with an unknown state',
      wire('heartbeat', { state: 'stopped', current_cpu_usage: 1 }),
      /^heartbeat: data\.state must be one of "ready", "spawning", "running", received "stopped"$/,
    ],
    [
      'heartbeat without cpu',
      wire('heartbeat', { state: 'ready' }),
      /heartbeat: data\.current_cpu_usage is missing/,
    ],
    [
      'heartbeat with nil data',
      wire('heartbeat', null),
      /^heartbeat: data must be a map with string keys, received nil$/,
    ],
    [
      'stats without user_classes_count',
      wire('stats', statsData({ user_classes_count: undefined })),
      /^stats: data\.user_classes_count (is missing|must be a map with string keys), received (nothing|nil)$/,
    ],
    [
      'stats with a string bucket key',
      wire(
        'stats',
        statsData({ stats_total: statsEntry({ response_times: new Map<unknown, number>([['fast', 1]]) }) }),
      ),
      /^stats: data\.stats_total\.response_times has a key that is not a number \("fast"\)/,
    ],
    [
      'stats entry without a name',
      wire('stats', statsData({ stats: [statsEntry({ name: undefined })] })),
      /^stats: data\.stats\[0\]\.name (is missing|must be a string), received (nothing|nil)$/,
    ],
    [
      'stats as an array',
      wire('stats', [1, 2]),
      /^stats: data must be a map with string keys, received \[1,2\]$/,
    ],
    [
      'spawning_complete without user_classes_count',
      wire('spawning_complete', { user_count: 3 }),
      /^spawning_complete: data\.user_classes_count is missing/,
    ],
    ['exception without msg', wire('exception', { traceback: '' }), /^exception: data\.msg is missing/],
    [
      'client_ready true',
      wire('client_ready', true),
      /^client_ready: data must be a version string, -1 or nil, received true$/,
    ],
    [
      'logs with a number line',
      wire('logs', { worker_id: NODE, logs: ['a', 5] }),
      /^logs: data\.logs\[1\] must be a string, received 5$/,
    ],
    [
      'envelope with two elements',
      packValue(['heartbeat', null]),
      /3-element array \[type, data, node_id\], received \["heartbeat",null\]/,
    ],
    [
      'envelope as a map',
      packValue({ type: 'heartbeat' }),
      /3-element array .*received \{"type":"heartbeat"\}/,
    ],
    ['numeric type', wire(5, null), /message type must be a non-empty string, received 5/],
    ['node_id not a string', wire('quit', null, 7), /^quit: node_id must be a string, received 7$/],
    ['garbage bytes', Buffer.from('c1c1c1', 'hex'), /undecodable 3-byte frame from the worker: byte 0xc1/],
    ['an empty frame', Buffer.alloc(0), /the frame is empty/],
    ['a truncated frame', wire('quit', null).subarray(0, 5), /truncated at byte/],
    [
      // A run of small integers is skipped in one loop: it must still stop at its array's end and the frame's.
      'a frame cut inside a run of small integers',
      wire('stats', { horde: [0, 1, 2, 3, 4, 5, 6, 7] }).subarray(0, 18),
      /truncated at byte 18/,
    ],
    [
      'small integers after a complete array',
      Buffer.concat([Buffer.from('92', 'hex'), Buffer.from([1, 2, 3, 4])]),
      /2 unexpected bytes after the msgpack value \(byte 3 of 5\)/,
    ],
    [
      'trailing bytes',
      Buffer.concat([wire('quit', null), Buffer.from([0x01])]),
      /1 unexpected bytes after the msgpack value/,
    ],
    [
      'bad UTF-8 in the type',
      Buffer.concat([Buffer.from('93a2', 'hex'), Buffer.from([0xc3, 0x28]), Buffer.from('c0a178', 'hex')]),
      /invalid UTF-8 in the string at byte 2/,
    ],
    [
      'bad UTF-8 in a map key',
      Buffer.concat([
        Buffer.from('93a178', 'hex'),
        Buffer.from('81a1', 'hex'),
        Buffer.from([0xff]),
        Buffer.from('01a178', 'hex'),
      ]),
      /invalid UTF-8/,
    ],
    ['an ext type (msgpackr record)', Buffer.from('d40000', 'hex'), /extension type \(0xd4\)/],
    [
      'deep nesting',
      Buffer.concat([Buffer.alloc(100, 0x91), Buffer.from([0xc0])]),
      /nested deeper than 64 levels/,
    ],
  ])('%s', (_, frame, reason) => {
    expect(reasonOf(decodeFromWorker(frame))).toMatch(reason)
  })

  it('master → worker: spawn with a string timestamp', () => {
    const spawn = {
      timestamp: 'now',
      user_classes_count: {},
      host: null,
      stop_timeout: 0,
      parsed_options: {},
    }
    expect(reasonOf(decodeFromMaster(wire('spawn', spawn)))).toBe(
      'spawn: data.timestamp must be a number, received "now"',
    )
  })

  it('master → worker: ack with a string index and spawning_complete without user_count', () => {
    expect(reasonOf(decodeFromMaster(wire('ack', { index: 'zero' })))).toBe(
      'ack: data.index must be a number, received "zero"',
    )
    expect(reasonOf(decodeFromMaster(wire('spawning_complete', {})))).toBe(
      'spawning_complete: data.user_count is missing, received nothing',
    )
    expect(reasonOf(decodeFromMaster(wire('update_user_class', ['x'])))).toBe(
      'update_user_class: data must be a map with string keys, received ["x"]',
    )
  })

  it('a non-binary frame is refused', () => {
    expect(reasonOf(decodeFromWorker('hello' as unknown as Buffer))).toMatch(/expected a binary frame/)
  })

  it('random bytes never throw', () => {
    for (let i = 0; i < 3000; i++) {
      const frame = randomBytes(1 + (i % 64))
      if (i % 2 === 0) frame[0] = 0x93 // look like an envelope to get past the first byte more often
      expect(() => decodeFromWorker(frame)).not.toThrow()
      expect(() => decodeFromMaster(frame)).not.toThrow()
    }
  })
})

describe('tolerated variations between real peers', () => {
  it.each([
    ['a version string', '2.46.3'],
    ['-1 (Boomer)', -1],
    ["'' (Debian 2.12.1, P6)", ''],
    ['nil (pre-2.0)', null],
  ])('client_ready with %s decodes; the master decides', (_, version) => {
    expect(decodeFromWorker(wire('client_ready', version))).toEqual({
      ok: true,
      envelope: { nodeId: NODE, message: { type: 'clientReady', version } },
    })
  })

  it('stats: nil method and min, int timestamps, Boomer min 0, missing optional keys, float and string keys', () => {
    const boomerEntry = {
      name: 'Total',
      method: 'GET',
      last_request_timestamp: 1795454019,
      start_time: 1795454016,
      num_requests: 3,
      num_failures: 0,
      total_response_time: 300,
      max_response_time: 150,
      min_response_time: 0,
      total_content_length: 0,
      response_times: new Map([[150, 3]]),
      num_reqs_per_sec: new Map([[1795454016, 3]]),
      num_fail_per_sec: new Map(),
    }
    const python212 = statsEntry({
      method: null,
      min_response_time: null,
      last_request_timestamp: null,
      response_times: new Map([
        [150.5, 1], // a non-integral key survives as a number
        [47, 2],
      ]),
    })
    const nonCompliant = statsEntry({ name: '/x', response_times: { '150': 2 }, num_reqs_per_sec: undefined })
    const data = statsData({
      stats: [boomerEntry, nonCompliant],
      stats_total: python212,
      errors: { k: { name: '/x', method: 'GET', error: 'e', occurrences: 2 } },
      user_count: undefined,
      custom_key: { at: { __datetime__: true, as_str: '20260102T03:04:05.000000' } },
    })
    const result = decodeFromWorker(wire('stats', data))
    if (!result.ok || result.envelope.message.type !== 'stats') throw new Error(JSON.stringify(result))
    const { report } = result.envelope.message
    expect(report.stats[0]).toMatchObject({
      name: 'Total',
      minResponseTime: 0,
      startTime: 1795454016,
      numNoneRequests: 0,
    })
    expect(report.stats[1]?.responseTimes).toEqual(new Map([[150, 2]]))
    expect(report.stats[1]?.numReqsPerSec).toEqual(new Map())
    expect(report.statsTotal).toMatchObject({
      method: null,
      minResponseTime: null,
      lastRequestTimestamp: null,
    })
    expect(report.statsTotal.responseTimes).toEqual(
      new Map([
        [150.5, 1],
        [47, 2],
      ]),
    )
    expect(report.errors.get('k')).toEqual({ name: '/x', method: 'GET', error: 'e', occurrences: 2 })
    expect(report.userCount).toBe(1) // summed from user_classes_count when missing
    expect(report.extra).toEqual({ custom_key: { at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) } })
  })

  it('Boomer spawning_complete with count instead of user_count', () => {
    expect(decodeFromWorker(wire('spawning_complete', { count: 4, user_classes_count: { A: 4 } }))).toEqual({
      ok: true,
      envelope: {
        nodeId: NODE,
        message: { type: 'spawningComplete', userClassesCount: { A: 4 }, userCount: 4 },
      },
    })
  })

  it('ack with nil data (2.10 masters), spawn with nil stop_timeout and no parsed_options', () => {
    expect(decodeFromMaster(wire('ack', null))).toEqual({
      ok: true,
      envelope: { nodeId: NODE, message: { type: 'ack', index: null } },
    })
    expect(
      decodeFromMaster(wire('spawn', { timestamp: 1.5, user_classes_count: { A: 1 }, stop_timeout: null })),
    ).toEqual({
      ok: true,
      envelope: {
        nodeId: NODE,
        message: {
          type: 'spawn',
          timestamp: 1.5,
          userClassesCount: { A: 1 },
          host: null,
          stopTimeoutSec: 0,
          parsedOptions: {},
        },
      },
    })
  })

  it('a __proto__ key stays data and does not change any prototype', () => {
    const payload = wire('custom_thing', new Map<string, unknown>([['__proto__', { polluted: true }]]))
    const result = decodeFromWorker(payload)
    expect(result.ok).toBe(true)
    const data = result.ok && result.envelope.message.type === 'custom' ? result.envelope.message.data : null
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype)
    expect(Object.hasOwn(data as object, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('an unparseable datetime map stays a map', () => {
    const result = decodeFromWorker(wire('x', { __datetime__: true, as_str: 'yesterday' }))
    expect(result).toEqual({
      ok: true,
      envelope: {
        nodeId: NODE,
        message: { type: 'custom', name: 'x', data: { __datetime__: true, as_str: 'yesterday' } },
      },
    })
  })
})
