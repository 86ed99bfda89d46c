import { describe, expect, it } from 'vitest'
import { StatsAggregator } from '../../src/master/aggregator.js'
import type { RunOutcome, Sample } from '../../src/master/coordinator.js'
import type { WorkerSummary } from '../../src/shared/result.js'
import { decideVerdict } from '../../src/master/verdict.js'
import { WorkerRegistry } from '../../src/master/worker-registry.js'
import type { StatsEntryWire } from '../../src/protocol/messages.js'
import { testPlan } from '../helpers/plans.js'

const T0 = 1_700_000_000_000

function outcome(overrides: Partial<RunOutcome> = {}, requests = 100): RunOutcome {
  const aggregator = new StatsAggregator()
  const second = T0 / 1000 + 1
  const entry: StatsEntryWire = {
    name: '/',
    method: 'GET',
    lastRequestTimestamp: second,
    startTime: second,
    numRequests: requests,
    numNoneRequests: 0,
    numFailures: 0,
    totalResponseTime: requests * 10,
    maxResponseTime: 10,
    minResponseTime: 10,
    totalContentLength: 0,
    responseTimes: new Map([[10, requests]]),
    numReqsPerSec: new Map([[second, requests]]),
    numFailPerSec: new Map(),
  }
  if (requests > 0) {
    aggregator.addReport('w', {
      stats: [entry],
      statsTotal: entry,
      errors: new Map(),
      userClassesCount: {},
      userCount: 2,
      extra: {},
    })
  }
  const samples: Sample[] = Array.from({ length: 20 }, (_, i) => ({
    second: T0 / 1000 + i,
    targetUsers: 4,
    dispatchedUsers: 4,
    users: 4,
    workers: 2,
    phase: 'steady',
    warmup: false,
  }))
  return {
    cause: 'duration',
    stopReason: null,
    startedAtMs: T0,
    loadStartedAtMs: T0,
    measuredFromMs: T0,
    measuredToMs: T0 + 20_000,
    endedAtMs: T0 + 21_000,
    stats: aggregator.snapshot(),
    workers: [],
    events: [],
    samples,
    abortedBy: null,
    exceptions: [],
    lostWorkers: [],
    ...overrides,
  }
}

describe('verdict', () => {
  const plan = testPlan({ expectWorkers: 2 })

  it('passes a healthy run and fails on a failed threshold', () => {
    expect(decideVerdict(plan, outcome(), []).verdict).toBe('pass')
    const failed = {
      metric: 'http_req_duration',
      expression: 'p(95)<1',
      observed: 10,
      ok: false,
      abortOnFail: false,
    }
    expect(decideVerdict(plan, outcome(), [failed])).toMatchObject({
      verdict: 'fail',
      reasons: ['Threshold http_req_duration p(95)<1 failed: observed 10.'],
    })
  })

  it('is invalid when a worker was saturated for a significant share of the run', () => {
    const registry = new WorkerRegistry()
    registry.register('w_1', -1, T0).node.saturatedSeconds = 6
    const decision = decideVerdict(plan, outcome({ workers: registry.summaries() }), [])
    expect(decision.verdict).toBe('invalid')
    expect(decision.reasons[0]).toMatch(/Worker 0 was saturated .* for 6 s/)
    const brief: WorkerSummary[] = registry.summaries().map((w) => ({ ...w, saturatedSeconds: 1 }))
    expect(decideVerdict(plan, outcome({ workers: brief }), []).verdict).toBe('pass')
  })

  it('is invalid when users stayed below target for a significant share of the run', () => {
    const base = outcome()
    const samples = base.samples.map((s, i) => (i < 6 ? { ...s, users: 2 } : s))
    const decision = decideVerdict(plan, { ...base, samples }, [])
    expect(decision.verdict).toBe('invalid')
    expect(decision.reasons[0]).toMatch(/fewer users than dispatched for 6 of 20 measured seconds/)
    const brief = base.samples.map((s, i) => (i < 3 ? { ...s, users: 2 } : s))
    expect(decideVerdict(plan, { ...base, samples: brief }, []).verdict).toBe('pass')
  })

  it('says so next to any verdict when workers did not confirm they stopped', () => {
    const decision = decideVerdict(plan, outcome({ unconfirmedWorkers: ['w_2'] }), [])
    expect(decision.verdict).toBe('pass')
    expect(decision.reasons.at(-1)).toMatch(
      /1 worker\(s\) did not confirm they stopped \(w_2\).*master timeout/,
    )
    expect(decideVerdict(plan, outcome(), []).reasons.join(' ')).not.toMatch(/did not confirm/)
  })

  it('names a lost worker from the event fields and the worker index, whatever the event wording', () => {
    const registry = new WorkerRegistry()
    registry.register('w_1', -1, T0)
    registry.register('w_2', -1, T0)
    const base = outcome({
      lostWorkers: ['w_2'],
      workers: registry.summaries(),
      events: [{ timeMs: T0 + 5000, kind: 'worker-missing', message: 'reworded: no pulse', workerId: 'w_2' }],
    })
    const decision = decideVerdict(
      plan,
      { ...base, samples: base.samples.map((s) => ({ ...s, workers: 1 })) },
      [],
    )
    expect(decision.verdict).toBe('invalid')
    expect(decision.reasons[0]).toContain('(worker 1 at +5 s)')
  })

  it('is invalid when a lost worker was not replaced, not when a replacement came', () => {
    const base = outcome({ lostWorkers: ['w_2'] })
    const short = base.samples.map((s) => ({ ...s, workers: 1 }))
    expect(decideVerdict(plan, { ...base, samples: short }, []).verdict).toBe('invalid')
    expect(decideVerdict(plan, base, []).verdict).toBe('pass')
    // The workers quitting at the end (a stopping sample inside the window, seen in the container
    // rehearsal) is not a lost worker left unreplaced.
    const quitting = [
      ...base.samples.slice(0, -1),
      { ...base.samples.at(-1)!, workers: 0, phase: 'stopping' },
    ]
    expect(decideVerdict(plan, { ...base, samples: quitting }, []).verdict).toBe('pass')
  })

  it('says stopped when a person stopped it, and invalid when nothing was measured', () => {
    expect(
      decideVerdict(plan, outcome({ cause: 'person', stopReason: 'received SIGTERM' }), []).verdict,
    ).toBe('stopped')
    expect(decideVerdict(plan, outcome({}, 0), []).reasons).toContain(
      'No request completed in the measured window: nothing was measured.',
    )
    expect(
      decideVerdict(plan, outcome({ cause: 'workers-never-came', loadStartedAtMs: null }, 0), []).verdict,
    ).toBe('invalid')
  })
})
