import { afterEach, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { Coordinator } from '../../src/master/coordinator.js'
import { buildResult } from '../../src/master/result-builder.js'
import { createLogger } from '../../src/shared/logger.js'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import { stopProcess, type TestProcess } from '../helpers/processes.js'
import { startHordeWorker } from '../helpers/horde-cli.js'
import { testPlan } from '../helpers/plans.js'

const logger = createLogger({ role: 'master', level: process.env.HORDE_TEST_LOG ?? 'silent' })
const SCENARIO = fileURLToPath(new URL('../helpers/scenarios/many-endpoints.ts', import.meta.url))

describe('Horde master with real Horde worker processes and many endpoints', () => {
  const workers: TestProcess[] = []
  let target: DemoTarget | undefined

  afterEach(async () => {
    for (const worker of workers.splice(0)) await stopProcess(worker)
    await target?.close()
    target = undefined
  })

  it('4 worker processes × 50 endpoints: every endpoint merged with Horde histograms, totals equal what was served', async () => {
    target = await startDemoTarget()
    const plan = testPlan({ host: target.url, users: 4, spawnRate: 4, durationMs: 10_000, expectWorkers: 4 })
    const coordinator = await Coordinator.start({ plan, bindHost: '127.0.0.1', bindPort: 0, logger })
    for (let i = 0; i < 4; i++) workers.push(startHordeWorker(coordinator.port, target.url, SCENARIO))
    const outcome = await coordinator.run()
    const result = buildResult(plan, outcome)
    const context = workers.map((w) => w.output()).join('\n')
    expect(result.totals.requests, context).toBe(target.servedTotal())
    expect(result.endpoints).toHaveLength(50)
    expect(result.percentileSource).toBe('horde-hdr')
    expect(result.percentileErrorBound).toBe(0.005)
    for (const endpoint of result.endpoints) expect(endpoint.requests).toBeGreaterThan(0)
    expect(result.events.filter((e) => e.kind === 'worker-missing' || e.kind === 'master-behind')).toEqual([])
    // Per-second detail of every endpoint made it into the time series, and adds up to the totals.
    const perSecond = new Map<string, number>()
    for (const point of result.timeSeries) {
      for (const [key, e] of Object.entries(point.endpoints ?? {})) {
        if (!point.warmup) perSecond.set(key, (perSecond.get(key) ?? 0) + e.rps)
      }
    }
    expect(perSecond.size).toBe(50)
    for (const endpoint of result.endpoints) {
      expect(perSecond.get(`${endpoint.method} ${endpoint.name}`)).toBe(endpoint.requests)
    }
    expect(result.verdict).toBe('pass')
  })
})
