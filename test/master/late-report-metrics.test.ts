import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import { MASTER_METRICS } from '../../src/master/live-metrics.js'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { startFakeDatadogAgent, type FakeDatadogAgent } from '../helpers/fake-datadog-agent.js'
import { masterArgs } from '../helpers/horde-cli.js'
import { startLocustWorker } from '../helpers/locust.js'
import { freePort, startProcess, stopProcess, waitFor, type TestProcess } from '../helpers/processes.js'

const LATE_LOCUSTFILE = fileURLToPath(
  new URL('../helpers/locustfiles/late_report_locustfile.py', import.meta.url),
)

/**
 * The live metrics' rule for late reports: a second goes out 6 s after it ended; a worker report that arrives
 * later changes a second already sent, and that second is sent again with its own timestamp (Datadog keeps the
 * last value per timestamp). Here a real Locust worker reports every 10 s, next to one reporting every 3 s.
 */
describe('live metrics when a worker reports late', () => {
  let out: string
  let target: DemoTarget | undefined
  let agent: FakeDatadogAgent | undefined
  const started: TestProcess[] = []

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'horde-late-metrics-'))
    return () => rmSync(out, { recursive: true, force: true })
  })
  afterEach(async () => {
    for (const p of started.splice(0)) await stopProcess(p)
    await target?.close()
    await agent?.close()
    target = agent = undefined
  })

  it("the last value Datadog holds for every second equals result.json's time series", async () => {
    target = await startDemoTarget()
    agent = await startFakeDatadogAgent()
    const port = await freePort()
    const dir = join(out, 'late')
    const master = startProcess(process.execPath, [
      'bin/horde.js',
      ...masterArgs({
        workers: 2,
        users: 4,
        spawnRate: 4,
        duration: '16s',
        port,
        host: target.url,
        out: dir,
      }),
      '--statsd',
      `127.0.0.1:${agent.statsdPort}`,
    ])
    started.push(master)
    await waitFor(() => master.output().includes('waiting for 2 worker'), 20_000, 'master bound')
    started.push(startLocustWorker(port), startLocustWorker(port, LATE_LOCUSTFILE))
    expect(await master.exited, master.output()).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.totals.requests).toBe(target.servedTotal())

    const ours = agent.metrics.filter((m) => m.tags.run_id === result.runId)
    // Datadog's view: per metric and timestamp, the last value received.
    const last = new Map<string, number>()
    const sends = new Map<string, number[]>()
    for (const m of ours) {
      const key = `${m.name}@${m.timestampSec}`
      last.set(key, m.value)
      sends.set(key, [...(sends.get(key) ?? []), m.value])
    }
    expect(result.timeSeries.length).toBeGreaterThanOrEqual(16)
    for (const point of result.timeSeries) {
      const second = point.timeMs / 1000
      const at = (name: string): number | null => last.get(`${name}@${second}`) ?? null
      expect(at(MASTER_METRICS.rps), `horde.rps at ${second}`).toBe(point.rps)
      expect(at(MASTER_METRICS.failuresPerSec), `failures at ${second}`).toBe(point.failuresPerSec)
      expect(at(MASTER_METRICS.users), `users at ${second}`).toBe(point.users)
      expect(at(MASTER_METRICS.workers), `workers at ${second}`).toBe(point.workers)
      expect(at(MASTER_METRICS.p50Ms), `p50 at ${second}`).toBe(point.p50Ms)
      expect(at(MASTER_METRICS.p95Ms), `p95 at ${second}`).toBe(point.p95Ms)
      expect(at(MASTER_METRICS.p99Ms), `p99 at ${second}`).toBe(point.p99Ms)
    }
    // Not vacuous: the late worker's reports did change seconds already sent while the run went on, and those
    // seconds were sent again, corrected, before the run ended.
    const corrected = [...sends].filter(
      ([key, values]) => key.startsWith(`${MASTER_METRICS.rps}@`) && new Set(values).size > 1,
    )
    expect(corrected.length, 'no second of horde.rps was ever corrected').toBeGreaterThanOrEqual(2)
    const seen = new Set<string>()
    const correctedLive = ours.filter((m) => {
      const key = `${m.name}@${m.timestampSec}`
      const again = seen.has(key)
      seen.add(key)
      return m.name === MASTER_METRICS.rps && again && m.receivedAtMs < result.endedAtMs
    })
    expect(correctedLive.length, 'no correction went out during the run').toBeGreaterThanOrEqual(1)
    expect(master.output()).toMatch(/"corrections":\d+/)
  }, 90_000)
})
