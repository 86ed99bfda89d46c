import { afterEach, describe, expect, it } from 'vitest'
import { Coordinator } from '../../src/master/coordinator.js'
import { buildResult } from '../../src/master/result-builder.js'
import { createLogger } from '../../src/shared/logger.js'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import { stopProcess, type TestProcess } from '../helpers/processes.js'
import { startLocustWorker } from '../helpers/locust.js'
import { testPlan } from '../helpers/plans.js'

const logger = createLogger({ role: 'master', level: process.env.HORDE_TEST_LOG ?? 'silent' })

describe('Horde master driving real Locust 2.12.1 workers', () => {
  const workers: TestProcess[] = []
  let target: DemoTarget | undefined
  let coordinator: Coordinator | undefined

  afterEach(async () => {
    for (const worker of workers.splice(0)) await stopProcess(worker)
    await target?.close()
    target = undefined
  })

  it('accepts Debian workers with an empty version, dispatches by weight, and its totals equal what the target served', async () => {
    target = await startDemoTarget()
    const plan = testPlan({ host: target.url, users: 6, spawnRate: 6, durationMs: 6000, expectWorkers: 2 })
    coordinator = await Coordinator.start({ plan, bindHost: '127.0.0.1', bindPort: 0, logger })
    workers.push(startLocustWorker(coordinator.port), startLocustWorker(coordinator.port))
    const outcome = await coordinator.run()
    const result = buildResult(plan, outcome)
    const served = target.servedTotal()
    expect(result.totals.requests, workers.map((w) => w.output()).join('\n')).toBeGreaterThan(50)
    expect(result.totals.requests).toBe(served)
    expect(result.endpoints.map((e) => `${e.method} ${e.name}`).sort()).toEqual([
      'GET /results',
      'POST /vote',
    ])
    const byName = Object.fromEntries(result.endpoints.map((e) => [`${e.method} ${e.name}`, e.requests]))
    expect(byName['POST /vote']).toBe(target.served.get('POST /vote'))
    expect(result.workers).toHaveLength(2)
    expect(result.workers.every((w) => w.kind === '')).toBe(true)
    expect(result.events.filter((e) => e.kind === 'worker-joined')).toHaveLength(2)
    expect(result.verdict).toBe('pass')
    const peak = Math.max(...result.timeSeries.map((p) => p.users))
    expect(peak).toBe(6)
  })

  it('an abortOnFail threshold ends the run early with verdict fail', async () => {
    target = await startDemoTarget()
    const plan = testPlan({
      host: target.url,
      users: 2,
      spawnRate: 2,
      durationMs: 60_000,
      thresholds: [{ metric: 'http_req_duration', expression: 'max<0.001', abortOnFail: true }],
    })
    coordinator = await Coordinator.start({ plan, bindHost: '127.0.0.1', bindPort: 0, logger })
    workers.push(startLocustWorker(coordinator.port))
    const started = Date.now()
    const outcome = await coordinator.run()
    expect(Date.now() - started).toBeLessThan(25_000)
    const result = buildResult(plan, outcome)
    expect(result.verdict).toBe('fail')
    expect(result.stopCause).toBe('threshold')
    expect(result.events.some((e) => e.kind === 'threshold-aborted')).toBe(true)
    expect(result.verdictReasons.join(' ')).toMatch(/aborted early by an abortOnFail threshold/)
  })
})
