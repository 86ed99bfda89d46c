import { afterEach, describe, expect, it } from 'vitest'
import { Coordinator } from '../../src/master/coordinator.js'
import { ControlApi } from '../../src/master/control-api.js'
import { buildResult } from '../../src/master/result-builder.js'
import { createLogger } from '../../src/shared/logger.js'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import { stopProcess, waitFor, type TestProcess } from '../helpers/processes.js'
import { startLocustWorker } from '../helpers/locust.js'
import { startHordeWorker } from '../helpers/horde-cli.js'
import { testPlan } from '../helpers/plans.js'

const logger = createLogger({ role: 'master', level: process.env.HORDE_TEST_LOG ?? 'silent' })

describe('Horde master with Horde workers', () => {
  const workers: TestProcess[] = []
  let target: DemoTarget | undefined

  afterEach(async () => {
    for (const worker of workers.splice(0)) await stopProcess(worker)
    await target?.close()
    target = undefined
  })

  it('drives a Locust 2.12.1 worker and a Horde worker at once: both carry load, totals equal what was served', async () => {
    target = await startDemoTarget()
    const plan = testPlan({ host: target.url, users: 6, spawnRate: 6, durationMs: 7000, expectWorkers: 2 })
    const coordinator = await Coordinator.start({ plan, bindHost: '127.0.0.1', bindPort: 0, logger })
    workers.push(startLocustWorker(coordinator.port), startHordeWorker(coordinator.port, target.url))
    const outcome = await coordinator.run()
    const result = buildResult(plan, outcome)
    expect(result.totals.requests, workers.map((w) => w.output()).join('\n')).toBe(target.servedTotal())
    expect(result.workers.map((w) => w.kind).sort()).toEqual(['', 'horde'])
    // Both carried load: each worker ran half of the users, and both kinds sent stats.
    const perWorker = [...outcome.stats.requestsByWorker.values()]
    expect(perWorker).toHaveLength(2)
    for (const requests of perWorker) expect(requests).toBeGreaterThan(result.totals.requests * 0.25)
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(result.totals.requests)
    const perWorkerUsers = outcome.samples.at(-2)
    expect(perWorkerUsers?.users).toBe(6)
    expect(result.verdict).toBe('pass')
  })

  it('one of three workers killed with SIGKILL: marked missing within 5 s, its users move, load restored, verdict says so', async () => {
    target = await startDemoTarget()
    const plan = testPlan({ host: target.url, users: 6, spawnRate: 6, durationMs: 20_000, expectWorkers: 3 })
    const coordinator = await Coordinator.start({ plan, bindHost: '127.0.0.1', bindPort: 0, logger })
    for (let i = 0; i < 3; i++) workers.push(startHordeWorker(coordinator.port, target.url))
    const running = coordinator.run()
    await waitFor(
      () => coordinator.loadStartedAtMs !== null && Date.now() - coordinator.loadStartedAtMs > 5000,
      30_000,
      'load',
    )
    const victim = workers[1] as TestProcess
    const killedAt = Date.now()
    process.kill(victim.child.pid as number, 'SIGKILL')
    const outcome = await running
    const result = buildResult(plan, outcome)
    const missing = result.events.find((e) => e.kind === 'worker-missing')
    expect(missing, JSON.stringify(result.events)).toBeDefined()
    expect((missing?.timeMs ?? 0) - killedAt).toBeLessThanOrEqual(5500)
    const restored = outcome.samples.find(
      (s) => s.second * 1000 > (missing?.timeMs ?? 0) && s.users === 6 && s.workers === 2,
    )
    expect(restored, JSON.stringify(outcome.samples)).toBeDefined()
    expect((restored?.second ?? 0) * 1000 - (missing?.timeMs ?? 0)).toBeLessThanOrEqual(5000)
    expect(result.verdict).toBe('invalid')
    expect(result.verdictReasons.join(' ')).toMatch(
      /1 worker\(s\) lost and not replaced .*2 remaining worker\(s\), 2 of 3 expected/,
    )
    // Load restored: the last seconds carry about as many requests as before the kill.
    const series = result.timeSeries.filter((p) => p.rps > 0)
    const before = series.filter((p) => p.timeMs < killedAt - 1000).slice(-3)
    const after = series.filter((p) => p.timeMs > (missing?.timeMs ?? 0) + 5000).slice(-4, -1)
    const avg = (points: typeof series): number =>
      points.reduce((a, p) => a + p.rps, 0) / Math.max(1, points.length)
    expect(avg(after)).toBeGreaterThan(avg(before) * 0.7)
  })

  it('rebalances when workers join and leave mid-test (HPA scale up, then a graceful scale down)', async () => {
    target = await startDemoTarget()
    const plan = testPlan({ host: target.url, users: 6, spawnRate: 6, durationMs: 16_000, expectWorkers: 1 })
    const coordinator = await Coordinator.start({ plan, bindHost: '127.0.0.1', bindPort: 0, logger })
    workers.push(startHordeWorker(coordinator.port, target.url))
    const running = coordinator.run()
    await waitFor(() => coordinator.registry.reportedUsers() === 6, 20_000, 'first worker at 6 users')
    const joiner = startHordeWorker(coordinator.port, target.url)
    workers.push(joiner)
    await waitFor(() => coordinator.registry.active().length === 2, 20_000, 'second worker')
    await waitFor(
      () => coordinator.registry.active().every((n) => n.userCount === 3),
      5000,
      'each worker at 3 users after the join',
    )
    // Scale down: SIGTERM makes the worker quit gracefully; its users move to the other at once.
    process.kill(joiner.child.pid as number, 'SIGTERM')
    await waitFor(() => coordinator.registry.active().length === 1, 10_000, 'worker removed')
    await waitFor(() => coordinator.registry.reportedUsers() === 6, 5000, 'users back on the survivor')
    const outcome = await running
    const result = buildResult(plan, outcome)
    expect(result.events.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['worker-joined', 'worker-removed']),
    )
    expect(result.events.some((e) => e.kind === 'worker-missing')).toBe(false)
    expect(result.verdict, result.verdictReasons.join(' ')).toBe('pass')
    expect(result.totals.requests).toBe(target.servedTotal())
  })

  it('ramps stages as declared (users over time from the time series) and keeps warm-up out of the totals', async () => {
    target = await startDemoTarget()
    const plan = testPlan({
      host: target.url,
      durationMs: null,
      stages: [
        { durationMs: 4000, users: 4, spawnRate: 2 },
        { durationMs: 4000, users: 8, spawnRate: 4 },
        { durationMs: 3000, users: 2, spawnRate: 10 },
      ],
      warmupMs: 3000,
      expectWorkers: 2,
    })
    const coordinator = await Coordinator.start({ plan, bindHost: '127.0.0.1', bindPort: 0, logger })
    workers.push(
      startHordeWorker(coordinator.port, target.url),
      startHordeWorker(coordinator.port, target.url),
    )
    const outcome = await coordinator.run()
    const result = buildResult(plan, outcome)
    const start = outcome.loadStartedAtMs as number
    // The users the workers reported in the last sample taken at or before `ms` into the load.
    const usersAt = (ms: number): number | undefined =>
      [...outcome.samples].reverse().find((s) => s.second * 1000 <= start + ms)?.users
    // No sample yet half a second in is fine: the first 1 s tick may fall just before the load started.
    expect(usersAt(0.5 * 1000) ?? 0).toBeLessThanOrEqual(4) // ramping at 2/s
    expect(usersAt(3000)).toBe(4)
    expect(usersAt(7000)).toBe(8)
    expect(usersAt(10_000)).toBe(2)
    expect(result.events.filter((e) => e.kind === 'stage-started')).toHaveLength(3)
    expect(result.events.some((e) => e.kind === 'warmup-ended')).toBe(true)
    expect(result.timeSeries[0]?.warmup).toBe(true)
    expect(result.timeSeries.at(-1)?.warmup).toBe(false)
    expect(result.measuredFromMs).toBe(Math.ceil((start + 3000) / 1000) * 1000)
    expect((result.warmupTotals?.requests ?? 0) + result.totals.requests).toBe(target.servedTotal())
    expect(result.warmupTotals?.requests).toBeGreaterThan(0)
  })

  it('control API: bearer token, status, live stats, and a stop that makes the verdict "stopped"', async () => {
    target = await startDemoTarget()
    const plan = testPlan({ host: target.url, users: 2, spawnRate: 2, durationMs: 60_000, expectWorkers: 1 })
    const coordinator = await Coordinator.start({ plan, bindHost: '127.0.0.1', bindPort: 0, logger })
    const api = await ControlApi.start({ coordinator, host: '127.0.0.1', port: 0, token: 's3cret', logger })
    try {
      workers.push(startHordeWorker(coordinator.port, target.url))
      const running = coordinator.run()
      await waitFor(() => coordinator.aggregator.measured.total.requests > 10, 30_000, 'requests')
      expect((await fetch(`${api.url}/status`)).status).toBe(401)
      const auth = { authorization: 'Bearer s3cret' }
      const status = (await (await fetch(`${api.url}/status`, { headers: auth })).json()) as Record<
        string,
        unknown
      >
      expect(status.phase).toBe('running')
      expect(status.users).toBe(2)
      const stats = (await (await fetch(`${api.url}/stats`, { headers: auth })).json()) as {
        totals: { requests: number }
      }
      expect(stats.totals.requests).toBeGreaterThan(10)
      const stop = await fetch(`${api.url}/stop`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'test says stop' }),
      })
      expect(stop.status).toBe(202)
      const stoppedAt = Date.now()
      const outcome = await running
      expect(Date.now() - stoppedAt).toBeLessThan(10_000)
      const result = buildResult(plan, outcome)
      expect(result.verdict).toBe('stopped')
      expect(result.verdictReasons[0]).toMatch(/test says stop/)
      expect(result.events.some((e) => e.kind === 'stop-requested')).toBe(true)
    } finally {
      await api.close()
    }
  })
})
