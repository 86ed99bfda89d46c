import { describe, expect, it } from 'vitest'
import {
  decodeFromMaster,
  decodeFromWorker,
  encodeToMaster,
  encodeToWorker,
} from '../../src/protocol/codec.js'
import type { MasterToWorker, StatsEntryWire, WorkerToMaster } from '../../src/protocol/messages.js'
import { runPython } from '../helpers/python-msgpack.js'
import {
  FIXTURE_SETS,
  loadFixture,
  loadFixtures,
  pythonNumber,
  pythonPairs,
  type FixtureEntry,
} from './fixture-manifest.js'

const WORKER_TYPES: Record<string, WorkerToMaster['type']> = {
  client_ready: 'clientReady',
  heartbeat: 'heartbeat',
  stats: 'stats',
  spawning: 'spawning',
  spawning_complete: 'spawningComplete',
  client_stopped: 'clientStopped',
  quit: 'quit',
  exception: 'exception',
  logs: 'logs',
  locustfile: 'locustfileRequest',
}
const MASTER_TYPES: Record<string, MasterToWorker['type']> = {
  ack: 'ack',
  spawn: 'spawn',
  heartbeat: 'heartbeat',
  spawning_complete: 'spawningComplete',
  stop: 'stop',
  quit: 'quit',
  reconnect: 'reconnect',
  update_user_class: 'updateUserClass',
  locustfile: 'locustfileReply',
}

function decode(entry: FixtureEntry) {
  return entry.direction === 'w2m' ? decodeFromWorker(entry.bytes) : decodeFromMaster(entry.bytes)
}

function reencode(entry: FixtureEntry): Buffer {
  const result = decode(entry)
  if (!result.ok) throw new Error(result.reason)
  const { nodeId, message } = result.envelope
  return entry.direction === 'w2m'
    ? encodeToMaster(nodeId, message as WorkerToMaster)
    : encodeToWorker(nodeId, message as MasterToWorker)
}

function expectEntryMatchesPython(entry: StatsEntryWire, python: Record<string, unknown>) {
  expect(entry.name).toBe(python.name)
  expect(entry.method).toBe(python.method)
  expect(entry.numRequests).toBe(python.num_requests)
  expect(entry.numFailures).toBe(python.num_failures)
  expect(entry.totalResponseTime).toBe(pythonNumber(python.total_response_time))
  expect(entry.minResponseTime).toBe(pythonNumber(python.min_response_time))
  expect(entry.lastRequestTimestamp).toBe(pythonNumber(python.last_request_timestamp))
  expect(entry.startTime).toBe(pythonNumber(python.start_time))
  expect([...entry.responseTimes]).toEqual(pythonPairs(python.response_times).entries)
  expect([...entry.numReqsPerSec]).toEqual(pythonPairs(python.num_reqs_per_sec).entries)
  expect([...entry.numFailPerSec]).toEqual(pythonPairs(python.num_fail_per_sec).entries)
}

describe.each(FIXTURE_SETS)('golden fixtures %s', (set) => {
  const fixtures = loadFixtures(set)

  it.each(fixtures.map((entry) => [entry.file, entry] as const))(
    '%s decodes to the expected message',
    (_, entry) => {
      const result = decode(entry)
      if (!result.ok) throw new Error(`${entry.file}: ${result.reason}`)
      expect(result.envelope.nodeId).toBe(entry.nodeId)
      const types = entry.direction === 'w2m' ? WORKER_TYPES : MASTER_TYPES
      const expectedType = types[entry.type] ?? 'custom'
      expect(result.envelope.message.type).toBe(expectedType)
      if (expectedType === 'custom') expect(result.envelope.message).toMatchObject({ name: entry.type })

      const message = result.envelope.message
      if (message.type === 'stats' && entry.direction === 'w2m') {
        const python = entry.python as {
          stats: Record<string, unknown>[]
          stats_total: Record<string, unknown>
        }
        expect(message.report.stats).toHaveLength(python.stats.length)
        message.report.stats.forEach((row, i) => expectEntryMatchesPython(row, python.stats[i] ?? {}))
        expectEntryMatchesPython(message.report.statsTotal, python.stats_total)
      }
    },
  )

  it('re-encodes every payload so that Python decodes exactly what Locust sent', async () => {
    // The strongest golden check: decode → encode must be invisible to a Locust peer. Python compares the two
    // decoded values with ==, where 150 == 150.0 (as in Locust's own merges) and 2 == 2.0.
    const pairs = fixtures.map((entry) => ({
      file: entry.file,
      original: entry.bytes.toString('hex'),
      ours: reencode(entry).toString('hex'),
    }))
    const mismatches = await runPython<unknown[]>(
      `
out = []
for pair in INPUT:
    a, b = locust_loads(unhex(pair["original"])), locust_loads(unhex(pair["ours"]))
    if a != b:
        out.append({"file": pair["file"], "original": view(a), "ours": view(b)})
reply(out)
`,
      pairs,
    )
    expect(mismatches).toEqual([])
  })
})

describe('what the Locust 2.12.1 capture pins', () => {
  const fixtures = loadFixtures('locust-2.12.1')

  it('a 2.12.1 worker sends float bucket keys for ≥ 100 ms and Horde reads them as numbers (P2)', () => {
    const slowRows = fixtures
      .filter((entry) => entry.type === 'stats')
      .flatMap((entry) => (entry.python as { stats: Record<string, unknown>[] }).stats)
      .filter((row) => row.name === '/slow')
    const floatKeys = slowRows
      .flatMap((row) => pythonPairs(row.response_times).keyTypes)
      .filter((t) => t === 'float')
    expect(floatKeys.length).toBeGreaterThan(0)

    const decoded = fixtures
      .filter((entry) => entry.type === 'stats')
      .map((entry) => decodeFromWorker(entry.bytes))
    const slow = decoded.flatMap((r) =>
      r.ok && r.envelope.message.type === 'stats' ? r.envelope.message.report.stats : [],
    )
    const keys = slow.filter((row) => row.name === '/slow').flatMap((row) => [...row.responseTimes.keys()])
    expect(keys.length).toBeGreaterThan(0)
    for (const key of keys) expect(key).toBeGreaterThanOrEqual(100)
  })

  it("Debian's 2.12.1 worker says client_ready with an empty version (P6), which still decodes", () => {
    const ready = fixtures.find((entry) => entry.type === 'client_ready')
    expect(ready).toBeDefined()
    const result = decodeFromWorker(ready!.bytes)
    expect(result).toEqual({
      ok: true,
      envelope: { nodeId: ready!.nodeId, message: { type: 'clientReady', version: '' } },
    })
  })

  it('the first 2.12.1 stats_total has a nil method (P10) and no first_seen/last_seen on errors (D10)', () => {
    const [first] = fixtures
      .filter((entry) => entry.type === 'stats')
      .map((entry) => decodeFromWorker(entry.bytes))
    expect(
      first?.ok && first.envelope.message.type === 'stats' && first.envelope.message.report.statsTotal.method,
    ).toBe(null)
    const failing = fixtures
      .filter((entry) => entry.type === 'stats')
      .map((entry) => decodeFromWorker(entry.bytes))
      .flatMap((r) =>
        r.ok && r.envelope.message.type === 'stats' ? [...r.envelope.message.report.errors.values()] : [],
      )
    expect(failing.length).toBeGreaterThan(0)
    for (const error of failing) {
      expect(error).toMatchObject({
        name: '/fail',
        method: 'GET',
        error: expect.stringContaining('500') as unknown,
      })
      expect(error).not.toHaveProperty('firstSeen')
    }
  })

  it('a 2.12.1 master spawns with an int stop_timeout and its full parsed_options, ramping per message', () => {
    const spawns = fixtures
      .filter((entry) => entry.type === 'spawn')
      .map((entry) => decodeFromMaster(entry.bytes))
    expect(spawns.length).toBe(3)
    const messages = spawns.map((r) =>
      r.ok && r.envelope.message.type === 'spawn' ? r.envelope.message : null,
    )
    expect(messages.map((m) => m && Object.values(m.userClassesCount).reduce((a, b) => a + b, 0))).toEqual([
      1, 2, 3,
    ])
    for (const message of messages) {
      expect(message).toMatchObject({ host: 'http://127.0.0.1:9', stopTimeoutSec: 2 })
      expect(message?.parsedOptions).toMatchObject({ num_users: 3, headless: true, master: true })
    }
    const timestamps = messages.map((m) => m?.timestamp ?? 0)
    expect(timestamps[1]).toBeGreaterThan(timestamps[0] ?? Infinity)
    expect(timestamps[2]).toBeGreaterThan(timestamps[1] ?? Infinity)
  })
})

describe('latest-Locust fixtures decode to exactly these messages', () => {
  const decodeFile = (file: string) => {
    const entry = loadFixture('locust-latest', file)
    return decode(entry)
  }
  const NODE = 'vm_33abadcbcae840f29d15ec1c13ee875e'

  it.each([
    ['latest-001-w2m-client_ready.bin', { type: 'clientReady', version: '2.46.3' }],
    ['latest-002-w2m-client_ready.bin', { type: 'clientReady', version: -1 }],
    ['latest-003-m2w-ack.bin', { type: 'ack', index: 0 }],
    ['latest-004-w2m-heartbeat.bin', { type: 'heartbeat', state: 'ready', cpuPercent: 0, memoryBytes: 0 }],
    ['latest-005-m2w-heartbeat.bin', { type: 'heartbeat' }],
    ['latest-008-w2m-spawning.bin', { type: 'spawning' }],
    [
      'latest-009-w2m-spawning_complete.bin',
      { type: 'spawningComplete', userClassesCount: { MyUser: 1, OtherUser: 1 }, userCount: 2 },
    ],
    ['latest-010-m2w-spawning_complete.bin', { type: 'spawningComplete', userCount: 5 }],
    [
      'latest-014-m2w-update_user_class.bin',
      {
        type: 'updateUserClass',
        data: { user_class_name: 'MyUser', host: 'http://x', weight: 3, fixed_count: 0, tasks: ['index'] },
      },
    ],
    ['latest-020-m2w-stop.bin', { type: 'stop' }],
    ['latest-021-w2m-client_stopped.bin', { type: 'clientStopped' }],
    ['latest-022-m2w-reconnect.bin', { type: 'reconnect' }],
    ['latest-023-m2w-quit.bin', { type: 'quit' }],
    ['latest-024-w2m-quit.bin', { type: 'quit' }],
  ])('%s', (file, message) => {
    expect(decodeFile(file)).toEqual({ ok: true, envelope: { nodeId: NODE, message } })
  })

  it('spawn', () => {
    expect(decodeFile('latest-007-m2w-spawn.bin')).toEqual({
      ok: true,
      envelope: {
        nodeId: NODE,
        message: {
          type: 'spawn',
          timestamp: 1795454019.854,
          userClassesCount: { MyUser: 1, OtherUser: 1 },
          host: null,
          stopTimeoutSec: 2,
          parsedOptions: {
            expect_workers: 1,
            headless: true,
            host: null,
            my_custom_arg: 'hello',
            num_users: 5,
            run_time: 8,
            spawn_rate: 2,
            stop_timeout: 2,
            tags: null,
            user_classes: [],
          },
        },
      },
    })
  })

  it('stats with integer keys, first_seen/last_seen and a datetime extra', () => {
    const result = decodeFile('latest-011-w2m-stats.bin')
    if (!result.ok || result.envelope.message.type !== 'stats') throw new Error(JSON.stringify(result))
    const { report } = result.envelope.message
    expect(report.stats.map((row) => [row.method, row.name, row.numRequests, row.numFailures])).toEqual([
      ['GET', '/', 7, 0],
      ['POST', '/vote', 4, 1],
    ])
    expect(report.stats[0]?.responseTimes).toEqual(
      new Map([
        [3, 4],
        [47, 2],
        [150, 1],
      ]),
    )
    expect(report.statsTotal).toMatchObject({
      name: 'Aggregated',
      method: '',
      numRequests: 11,
      minResponseTime: 2.75,
    })
    expect(report.statsTotal.numReqsPerSec).toEqual(
      new Map([
        [1795454016, 9],
        [1795454017, 2],
      ]),
    )
    expect(report.errors).toEqual(
      new Map([
        [
          'bfe2e15f30b7167c9e5b6720a79bd980777967ce73ec63265dafa9fcce8c5d1a',
          {
            name: '/vote',
            method: 'POST',
            error: `Exception("boom 'x'")`,
            occurrences: 1,
            firstSeen: 1795454017.75,
            lastSeen: 1795454017.75,
          },
        ],
      ]),
    )
    expect(report.userClassesCount).toEqual({ MyUser: 4, OtherUser: 1 })
    expect(report.userCount).toBe(5)
    expect(report.extra).toEqual({ report_sent_at: new Date(Date.UTC(2026, 10, 23, 17, 18, 3, 123)) })
  })

  it('idle stats reveal the worker user classes', () => {
    const result = decodeFile('latest-006-w2m-stats.bin')
    expect(
      result.ok && result.envelope.message.type === 'stats' && result.envelope.message.report,
    ).toMatchObject({
      stats: [],
      errors: new Map(),
      userClassesCount: { MyUser: 0, OtherUser: 0 },
      userCount: 0,
      extra: {},
    })
  })

  it('exception, logs and locustfile request/replies', () => {
    expect(decodeFile('latest-012-w2m-exception.bin')).toMatchObject({
      ok: true,
      envelope: {
        message: {
          type: 'exception',
          msg: "boom 'x'",
          traceback: expect.stringContaining('vote') as unknown,
        },
      },
    })
    expect(decodeFile('latest-013-w2m-logs.bin')).toMatchObject({
      ok: true,
      envelope: {
        message: { type: 'logs', workerId: NODE, logs: [expect.stringContaining('ready') as unknown] },
      },
    })
    expect(decodeFile('latest-015-w2m-locustfile.bin')).toMatchObject({
      ok: true,
      envelope: {
        nodeId: expect.stringContaining('_download_locustfile_') as unknown,
        message: { type: 'locustfileRequest', version: '2.46.3' },
      },
    })
    expect(decodeFile('latest-016-m2w-locustfile.bin')).toMatchObject({
      ok: true,
      envelope: {
        message: {
          type: 'locustfileReply',
          data: { locustfiles: [{ filename: 'locustfile.py', contents: 'from locust import *\n' }] },
        },
      },
    })
    expect(decodeFile('latest-017-m2w-locustfile.bin')).toMatchObject({
      ok: true,
      envelope: { message: { type: 'locustfileReply', data: { error: 'locustfile must be a file' } } },
    })
  })

  it('custom messages carry Locust datetimes as Dates, at any depth', () => {
    expect(decodeFile('latest-018-m2w-my_custom.bin')).toEqual({
      ok: true,
      envelope: {
        nodeId: NODE,
        message: {
          type: 'custom',
          name: 'my_custom',
          data: {
            sent_at: new Date(Date.UTC(2026, 10, 23, 17, 18, 3, 250)),
            n: 1,
            nested: [{ at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) }],
          },
        },
      },
    })
    expect(decodeFile('latest-019-w2m-my_reply.bin')).toEqual({
      ok: true,
      envelope: {
        nodeId: NODE,
        message: {
          type: 'custom',
          name: 'my_reply',
          data: { received_at: new Date(Date.UTC(2026, 10, 23, 17, 18, 4, 500)) },
        },
      },
    })
  })
})
