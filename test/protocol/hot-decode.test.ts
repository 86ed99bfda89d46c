import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { decodeFromWorker, encodeToMaster } from '../../src/protocol/codec.js'
import { hotHeartbeat, hotStatsReport } from '../../src/protocol/hot-decode.js'
import { packValue, unpackValue } from '../../src/protocol/wire-values.js'
import { seededRandom, simulatedHordeWorker, simulatedReport } from '../../bench/horde-worker-reports.js'
import { FIXTURE_SETS, loadFixtures } from './fixture-manifest.js'

const NODE = 'host_0123456789abcdef0123456789abcdef'

/** The data element as msgpackr decodes it: what the fast path reads. */
function rawData(bytes: Uint8Array): unknown {
  return (unpackValue(bytes) as unknown[])[1]
}

/** Both paths must agree on every frame: the same message, or the same reason. */
function expectSameDecoding(bytes: Uint8Array): void {
  expect(decodeFromWorker(bytes)).toEqual(decodeFromWorker(bytes, { general: true }))
}

function statsEntry(overrides: Record<string, unknown> = {}): Map<string, unknown> {
  return new Map<string, unknown>(
    Object.entries({
      name: '/vote',
      method: 'POST',
      last_request_timestamp: 1795454019.5,
      start_time: 1795454016.25,
      num_requests: 2,
      num_none_requests: 0,
      num_failures: 1,
      total_response_time: 30.5,
      max_response_time: 20.5,
      min_response_time: 10,
      total_content_length: 10,
      response_times: new Map([
        [10, 1],
        [20, 1],
      ]),
      num_reqs_per_sec: new Map([[1795454016, 2]]),
      num_fail_per_sec: new Map([[1795454016, 1]]),
      ...overrides,
    }),
  )
}

function statsData(overrides: Record<string, unknown> = {}): Map<string, unknown> {
  return new Map<string, unknown>(
    Object.entries({
      stats: [statsEntry()],
      stats_total: statsEntry({ name: 'Aggregated', method: '' }),
      errors: new Map([
        [
          'k1',
          new Map<string, unknown>(
            Object.entries({ name: '/vote', method: 'POST', error: 'HTTP 500', occurrences: 1 }),
          ),
        ],
      ]),
      user_classes_count: new Map([['Voter', 3]]),
      user_count: 3,
      horde: new Map<string, unknown>([
        ['v', 2],
        ['entries', [new Map<string, unknown>([['hist', [1, 2, 3, 0, 5, 1]]])]],
      ]),
      ...overrides,
    }),
  )
}

describe('the fast path for heartbeats and stats reports', () => {
  beforeEach(() => {
    // A stats entry without start_time gets "now": both paths must see the same now.
    vi.useFakeTimers({ toFake: ['Date'], now: 1_795_454_020_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('takes every heartbeat and stats frame real Locust workers sent, and decodes it as the general path does', () => {
    let taken = 0
    for (const set of FIXTURE_SETS) {
      for (const fixture of loadFixtures(set)) {
        if (fixture.direction !== 'w2m') continue
        expectSameDecoding(fixture.bytes)
        if (fixture.type === 'stats') {
          expect(hotStatsReport(rawData(fixture.bytes)), `${set}/${fixture.file}`).not.toBeNull()
          taken++
        }
        if (fixture.type === 'heartbeat') {
          expect(hotHeartbeat(rawData(fixture.bytes)), `${set}/${fixture.file}`).not.toBeNull()
          taken++
        }
      }
    }
    expect(taken).toBeGreaterThan(4)
  })

  it('takes the reports a real Horde worker sends (extension included) and decodes them as the general path does', () => {
    const worker = simulatedHordeWorker(1_795_454_000_000)
    const random = seededRandom(7)
    for (let i = 0; i < 5; i++) {
      const report = simulatedReport(worker, random, {
        endMs: 1_795_454_003_000 + i * 3000,
        intervalMs: 3000,
        requests: 400,
        endpoints: 20,
        userCount: 4,
      })
      const bytes = encodeToMaster(NODE, { type: 'stats', report })
      expect(hotStatsReport(rawData(bytes))).not.toBeNull()
      expectSameDecoding(bytes)
    }
  })

  it('leaves what it is unsure of to the general path, so good odd data decodes the same and bad data keeps its reason', () => {
    const variants: Array<[string, unknown]> = [
      [
        'string-keyed response_times (P1)',
        statsData({ stats: [statsEntry({ response_times: new Map([['10', 2]]) })] }),
      ],
      ['float bucket keys', statsData({ stats: [statsEntry({ response_times: new Map([[150.5, 2]]) })] })],
      ['no start_time', statsData({ stats: [statsEntry({ start_time: undefined })] })],
      ['nil start_time', statsData({ stats: [statsEntry({ start_time: null })] })],
      ['nil method (P10)', statsData({ stats_total: statsEntry({ name: 'Aggregated', method: null }) })],
      ['missing counters', statsData({ stats: [new Map([['name', '/x']])] })],
      ['NaN count', statsData({ stats: [statsEntry({ num_reqs_per_sec: new Map([[1, Number.NaN]]) })] })],
      ['string count', statsData({ stats: [statsEntry({ num_requests: '2' })] })],
      ['no stats_total', statsData({ stats_total: undefined })],
      ['no user_classes_count', statsData({ user_classes_count: undefined })],
      ['nil user_count', statsData({ user_count: null })],
      ['nil errors', statsData({ errors: null })],
      ['bad error row', statsData({ errors: new Map([['k', new Map([['name', 1]])]]) })],
      [
        'a datetime in a count map',
        statsData({
          user_classes_count: new Map<string, unknown>([
            ['__datetime__', true],
            ['as_str', '20260101T00:00:00.000000'],
          ]),
        }),
      ],
      ['an integer top-level key', new Map<unknown, unknown>([...statsData(), [7, 'x']])],
      ['stats not an array', statsData({ stats: new Map() })],
      ['data not a map', [1, 2]],
    ]
    for (const [label, data] of variants) {
      const bytes = packValue(['stats', data, NODE])
      const fast = decodeFromWorker(bytes)
      expect(fast, label).toEqual(decodeFromWorker(bytes, { general: true }))
    }
    const badTotal = decodeFromWorker(packValue(['stats', statsData({ stats_total: undefined }), NODE]))
    expect(badTotal).toEqual({
      ok: false,
      reason: 'stats: data.stats_total must be a map with string keys, received nil',
    })

    const heartbeats: unknown[] = [
      new Map<string, unknown>([
        ['state', 'running'],
        ['current_cpu_usage', 12.5],
      ]),
      new Map<string, unknown>([
        ['state', 'running'],
        ['current_cpu_usage', 12.5],
        ['current_memory_usage', null],
      ]),
      new Map<string, unknown>([
        ['state', 'stopped'],
        ['current_cpu_usage', 1],
      ]),
      new Map<string, unknown>([
        ['state', 'ready'],
        ['current_cpu_usage', 'x'],
      ]),
      new Map<string, unknown>([['state', 'ready']]),
      new Map<string, unknown>([
        ['state', 'running'],
        ['current_cpu_usage', 3],
        ['horde_live', [120, 2]],
      ]),
      // A bad horde_live costs only the live counts, never the heartbeat.
      new Map<string, unknown>([
        ['state', 'running'],
        ['current_cpu_usage', 3],
        ['horde_live', [1, 2]],
      ]),
      new Map<string, unknown>([
        ['state', 'running'],
        ['current_cpu_usage', 3],
        ['horde_live', 'x'],
      ]),
      null,
    ]
    for (const data of heartbeats) expectSameDecoding(packValue(['heartbeat', data, NODE]))
    expect(decodeFromWorker(packValue(['heartbeat', heartbeats[5], NODE]))).toMatchObject({
      ok: true,
      envelope: { message: { live: { requests: 120, failures: 2 } } },
    })
    const badLive = decodeFromWorker(packValue(['heartbeat', heartbeats[6], NODE]))
    expect(badLive.ok && badLive.envelope.message).toEqual({
      type: 'heartbeat',
      state: 'running',
      cpuPercent: 3,
      memoryBytes: null,
    })
    expect(decodeFromWorker(packValue(['heartbeat', heartbeats[2], NODE]))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('data.state must be one of') as unknown,
    })
  })
})
