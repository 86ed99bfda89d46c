import { describe, expect, it } from 'vitest'
import { StatsAggregator } from '../../src/master/aggregator.js'
import { UserSequence, nextRampTotal, rampStep, sortWorkers } from '../../src/master/dispatch.js'
import { bucketPercentile } from '../../src/master/stats-row.js'
import { evaluateThreshold, parseThreshold } from '../../src/master/thresholds.js'
import type { StatsEntryWire, StatsReport } from '../../src/protocol/messages.js'
import {
  HORDE_PERCENTILE_ERROR_BOUND,
  createResponseTimeHistogram,
  decodeHordeExtension,
  encodeHordeExtension,
  recordResponseTimeMs,
} from '../../src/protocol/horde-extension.js'
import { bucketResponseTime } from '../../src/protocol/buckets.js'

function entry(method: string, name: string, times: number[], second: number, failures = 0): StatsEntryWire {
  const buckets = new Map<number, number>()
  for (const t of times) buckets.set(bucketResponseTime(t), (buckets.get(bucketResponseTime(t)) ?? 0) + 1)
  return {
    name,
    method,
    lastRequestTimestamp: second + 0.5,
    startTime: second,
    numRequests: times.length,
    numNoneRequests: 0,
    numFailures: failures,
    totalResponseTime: times.reduce((a, b) => a + b, 0),
    maxResponseTime: Math.max(...times),
    minResponseTime: Math.min(...times),
    totalContentLength: times.length * 10,
    responseTimes: buckets,
    numReqsPerSec: new Map([[second, times.length]]),
    numFailPerSec: failures > 0 ? new Map([[second, failures]]) : new Map<number, number>(),
  }
}

function report(entries: StatsEntryWire[], extra: Record<string, unknown> = {}): StatsReport {
  return {
    stats: entries,
    statsTotal: {
      ...entries[0]!,
      name: 'Aggregated',
      method: '',
      numRequests: entries.reduce((a, e) => a + e.numRequests, 0),
    },
    errors: new Map(),
    userClassesCount: {},
    userCount: 0,
    extra,
  }
}

describe('dispatch', () => {
  it('splits users by weight across workers, and a ramp only adds (or removes the latest) users', () => {
    const sequence = new UserSequence([
      { name: 'Voter', weight: 3 },
      { name: 'Watcher', weight: 1 },
    ])
    const table = sequence.distribute(8, ['w1', 'w2'])
    const sum = (cls: string): number => [...table.values()].reduce((a, row) => a + (row[cls] ?? 0), 0)
    expect(sum('Voter')).toBe(6)
    expect(sum('Watcher')).toBe(2)
    expect([...table.values()].map((row) => (row.Voter ?? 0) + (row.Watcher ?? 0))).toEqual([4, 4])
    for (let n = 0; n < 20; n++) {
      const a = sequence.distribute(n, ['w1', 'w2', 'w3'])
      const b = sequence.distribute(n + 1, ['w1', 'w2', 'w3'])
      for (const [id, row] of a)
        for (const [cls, count] of Object.entries(row)) expect(b.get(id)?.[cls]).toBeGreaterThanOrEqual(count)
    }
  })

  it('puts fixed-count users first and every class in every row', () => {
    const sequence = new UserSequence([
      { name: 'Admin', weight: 1, fixedCount: 1 },
      { name: 'Voter', weight: 1 },
    ])
    const table = sequence.distribute(3, ['a'])
    expect(table.get('a')).toEqual({ Admin: 1, Voter: 2 })
    expect(sequence.distribute(0, ['a']).get('a')).toEqual({ Admin: 0, Voter: 0 })
  })

  it('ramps as Locust: max(1, floor(rate)) users every users/rate seconds; workers interleaved by host', () => {
    expect(rampStep(2.5)).toEqual({ usersPerStep: 2, intervalMs: 800 })
    expect(rampStep(0.5)).toEqual({ usersPerStep: 1, intervalMs: 2000 })
    expect(nextRampTotal(3, 10, 4)).toBe(7)
    expect(nextRampTotal(10, 3, 4)).toBe(6)
    expect(sortWorkers(['b_2', 'a_2', 'a_1', 'b_1'])).toEqual(['a_1', 'b_1', 'a_2', 'b_2'])
  })
})

describe('stats merge', () => {
  it("follows Locust's percentile formula on merged buckets, with float and int keys as one bucket", () => {
    // stats.py calculate_response_time_percentile: rank = int(n * p); walk down until n - processed <= rank.
    expect(
      bucketPercentile(
        new Map([
          [10, 50],
          [20, 45],
          [150, 5],
        ]),
        0.95,
      ),
    ).toBe(150)
    expect(
      bucketPercentile(
        new Map([
          [10, 50],
          [20, 45],
          [150, 5],
        ]),
        0.94,
      ),
    ).toBe(20)
    expect(
      bucketPercentile(
        new Map([
          [10, 50],
          [20, 45],
          [150, 5],
        ]),
        0.5,
      ),
    ).toBe(20)
    const aggregator = new StatsAggregator()
    const a = entry('GET', '/x', [10, 150], 1000)
    const b = entry('GET', '/x', [150.4], 1000)
    b.responseTimes = new Map([[150.0, 1]])
    aggregator.addReport('w1', report([a]))
    aggregator.addReport('w2', report([b]))
    const row = aggregator.measured.row('GET', '/x')
    expect(row.requests).toBe(3)
    expect(row.buckets.get(150)).toBe(2)
    expect(row.minResponseTimeMs).toBe(10)
    expect(row.maxResponseTimeMs).toBe(150.4)
    expect(aggregator.measured.total.requests).toBe(3)
  })

  it('splits a report straddling the warm-up boundary exactly by completion second', () => {
    const aggregator = new StatsAggregator()
    aggregator.setMeasuredFromSec(1002)
    const e = entry('GET', '/x', [10, 10, 10, 20], 1001, 1)
    e.numReqsPerSec = new Map([
      [1001, 1],
      [1002, 3],
    ])
    e.numFailPerSec = new Map([[1001, 1]])
    aggregator.addReport('w1', report([e]))
    expect(aggregator.warmup.total.requests).toBe(1)
    expect(aggregator.warmup.total.failures).toBe(1)
    expect(aggregator.measured.total.requests).toBe(3)
    expect(aggregator.measured.total.failures).toBe(0)
    expect(aggregator.seconds.get(1002)?.total.requests).toBe(3)
  })

  it('uses Horde histograms (≤ 0.5 % error) when every contribution has one, Locust buckets otherwise', () => {
    const times = Array.from({ length: 1000 }, (_, i) => 100 + i * 1.7)
    const histogram = createResponseTimeHistogram()
    for (const t of times) recordResponseTimeMs(histogram, t)
    const extension = encodeHordeExtension({ entries: [{ method: 'GET', name: '/x', histogram }] })
    expect(decodeHordeExtension({ horde: extension })).not.toBeNull()
    expect(decodeHordeExtension({ horde: { v: 99 } })).toBeNull()
    const exact = [...times].sort((x, y) => x - y)[949] as number
    const horde = new StatsAggregator()
    horde.addReport('w1', report([entry('GET', '/x', times, 1000)], { horde: extension }))
    const hordeRow = horde.measured.row('GET', '/x')
    expect(hordeRow.highResolution).toBe(true)
    expect(Math.abs((hordeRow.percentileMs(0.95) as number) - exact) / exact).toBeLessThan(
      HORDE_PERCENTILE_ERROR_BOUND + 1e-6,
    )
    // A Locust worker joins the same row: percentiles fall back to Locust's buckets (stated ±5 %).
    horde.addReport('w2', report([entry('GET', '/x', [300], 1000)]))
    expect(horde.measured.row('GET', '/x').highResolution).toBe(false)
    expect(horde.measured.row('GET', '/x').percentileMs(0.95)).toBeGreaterThan(0)
  })
})

describe('Horde per-second histograms', () => {
  it('split a report straddling the warm-up boundary exactly, keeping 0.5 % percentiles', () => {
    const warm = [5, 6, 7]
    const measured = Array.from({ length: 200 }, (_, i) => 100 + i * 3.3)
    const e = entry('GET', '/x', [...warm, ...measured], 1001)
    e.numReqsPerSec = new Map([
      [1001, warm.length],
      [1002, measured.length],
    ])
    const h1 = createResponseTimeHistogram()
    for (const t of warm) recordResponseTimeMs(h1, t)
    const h2 = createResponseTimeHistogram()
    for (const t of measured) recordResponseTimeMs(h2, t)
    const extension = encodeHordeExtension({
      entries: [
        { method: 'GET', name: '/x', second: 1001, histogram: h1 },
        { method: 'GET', name: '/x', second: 1002, histogram: h2 },
      ],
    })
    const aggregator = new StatsAggregator()
    aggregator.setMeasuredFromSec(1002)
    aggregator.addReport('w1', report([e], { horde: extension }))
    const row = aggregator.measured.row('GET', '/x')
    expect(row.requests).toBe(200)
    expect(row.highResolution).toBe(true)
    const exact = [...measured].sort((x, y) => x - y)[189] as number
    expect(Math.abs((row.percentileMs(0.95) as number) - exact) / exact).toBeLessThan(
      HORDE_PERCENTILE_ERROR_BOUND + 1e-6,
    )
    expect(aggregator.warmup.row('GET', '/x').percentileMs(1)).toBeCloseTo(7, 1)
    expect(aggregator.seconds.get(1002)?.endpoints.get('GET /x')?.highResolution).toBe(true)
  })
})

describe('thresholds', () => {
  it('parses k6 vocabulary and rejects typos with the fix', () => {
    expect(
      parseThreshold({
        metric: 'http_req_duration{name:/x,method:GET}',
        expression: 'p(99.9) < 300',
        abortOnFail: false,
      }),
    ).toMatchObject({
      filters: { name: '/x', method: 'GET' },
      percentile: 99.9,
      operator: '<',
      value: 300,
    })
    expect(() =>
      parseThreshold({ metric: 'http_req_durations', expression: 'p(95)<1', abortOnFail: false }),
    ).toThrow(/not a known metric/)
    expect(() =>
      parseThreshold({ metric: 'http_req_failed', expression: 'p(95)<1', abortOnFail: false }),
    ).toThrow(/supports rate/)
    expect(() =>
      parseThreshold({ metric: 'http_reqs', expression: 'count >> 1', abortOnFail: false }),
    ).toThrow(/not an expression/)
  })

  it('evaluates on matching rows only; http_* ignore non-HTTP types, req_* see them', () => {
    const aggregator = new StatsAggregator()
    aggregator.addReport(
      'w',
      report([entry('GET', '/a', [10, 20], 1000), entry('SQL', 'select', [500], 1000, 1)]),
    )
    const eval_ = (metric: string, expression: string) =>
      evaluateThreshold(parseThreshold({ metric, expression, abortOnFail: false }), aggregator.measured, 2)
    expect(eval_('http_req_duration', 'max<100')).toMatchObject({ ok: true, observed: 20 })
    expect(eval_('req_duration', 'max<100')).toMatchObject({ ok: false, observed: 500 })
    expect(eval_('req_failed{type:SQL}', 'rate<0.5')).toMatchObject({ ok: false, observed: 1 })
    expect(eval_('http_reqs', 'rate>0.9')).toMatchObject({ ok: true, observed: 1 })
    expect(eval_('http_req_duration{name:/nothing}', 'p(95)<100')).toMatchObject({
      ok: false,
      observed: null,
    })
  })
})
