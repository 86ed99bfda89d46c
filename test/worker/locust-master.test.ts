import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startHorde, REPO_ROOT } from '../helpers/horde-cli.js'
import { readLocustCsv, startLocustMaster } from '../helpers/locust.js'
import { freePort, killAllStarted } from '../helpers/processes.js'
import { startTargetServer, type TargetServer } from '../helpers/target-server.js'

let target: TargetServer | undefined
let dir: string | undefined

afterEach(async () => {
  await killAllStarted()
  await target?.close()
  target = undefined
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

const scenario = `${REPO_ROOT}test/scenarios/interop.ts`
const locustfile = `${REPO_ROOT}test/scenarios/interop_locustfile.py`

describe('Horde workers driven by a real Locust 2.12.1 master', () => {
  it('carry the load: master totals equal what the target served, failures and percentiles are right', async () => {
    target = await startTargetServer()
    dir = mkdtempSync(join(tmpdir(), 'horde-locust-'))
    const port = await freePort()
    const master = startLocustMaster({
      locustfile,
      port,
      users: 20,
      spawnRate: 20,
      runTime: '8s',
      expectWorkers: 2,
      host: target.url,
      csvPrefix: join(dir, 'run'),
      cwd: dir,
    })
    const workers = [1, 2].map(() => startHorde(['worker', scenario, '--master-port', String(port)]))
    const masterExit = await master.exited
    const workerExits = await Promise.all(workers.map((w) => w.exited))

    // The master exits 1 because failures were recorded (Locust's --exit-code-on-error default).
    expect(masterExit, master.output()).toBe(1)
    expect(workerExits, workers.map((w) => w.output()).join('\n')).toEqual([0, 0])
    for (const w of workers) expect(w.output()).toMatch(/"message":"users spawned"/)

    const rows = readLocustCsv(join(dir, 'run_stats.csv'))
    const row = (name: string) => rows.find((r) => r.Name === name)
    const aggregated = row('Aggregated')!
    const served = target.total()
    const counts = target.counts()
    // Exact equality: on quit each worker stops starting requests, lets in-flight ones complete (they are
    // recorded) and sends its final report inside the master's 0.5 s grace period. Tolerance 0.
    expect(Number(aggregated['Request Count'])).toBe(served)
    expect(served).toBeGreaterThan(300)
    expect(Number(row('/delay/50')!['Request Count'])).toBe(counts.get('GET /delay/50'))
    expect(Number(row('/ok')!['Request Count'])).toBe(counts.get('GET /ok'))
    expect(Number(row('/fail')!['Request Count'])).toBe(counts.get('GET /fail'))
    expect(Number(row('/fail')!['Failure Count'])).toBe(counts.get('GET /fail'))
    expect(Number(row('/ok')!['Failure Count'])).toBe(0)

    // Both workers carried load: the user split shows in the per-worker spawn logs.
    for (const w of workers) expect(w.output()).toMatch(/"total":10\b/)

    // The fixed 50 ms endpoint: the target's own delay is a floor no honest measurement goes under, less 1 ms
    // because Node's timers round to whole milliseconds of loop time (49.55 ms seen). The ceiling is a sanity margin, not a latency goal: on a shared
    // 2-core machine a p95 of 71 ms has been seen; timing goals live in bench/.
    const slow = row('/delay/50')!
    expect(Number(slow['Min Response Time'])).toBeGreaterThanOrEqual(49)
    expect(Number(slow['50%'])).toBeGreaterThanOrEqual(49)
    expect(Number(slow['95%'])).toBeGreaterThanOrEqual(Number(slow['50%']))
    expect(Number(slow['Average Response Time'])).toBeLessThan(1000)

    const failures = readLocustCsv(join(dir, 'run_failures.csv'))
    const failRow = failures.find((f) => f.Name === '/fail')
    // 2.12.1 masters show errors through repr(), hence the quotes (protocol D11).
    expect(failRow?.Error).toBe("'HTTP 500'")
    expect(Number(failRow?.Occurrences)).toBe(counts.get('GET /fail'))
  })

  it('stop load within 10 s and exit non-zero when the master is killed', async () => {
    target = await startTargetServer()
    dir = mkdtempSync(join(tmpdir(), 'horde-locust-'))
    const port = await freePort()
    const master = startLocustMaster({
      locustfile,
      port,
      users: 8,
      spawnRate: 8,
      runTime: '60s',
      expectWorkers: 2,
      host: target.url,
      csvPrefix: join(dir, 'run'),
      cwd: dir,
    })
    const workers = [1, 2].map(() => startHorde(['worker', scenario, '--master-port', String(port)]))
    await Promise.all(workers.map((w) => w.waitFor(/users spawned/, 20_000)))
    await new Promise((r) => setTimeout(r, 1000))
    expect(target.total()).toBeGreaterThan(0)
    master.kill('SIGKILL')
    const killedAt = Date.now()
    const exits = await Promise.all(workers.map((w) => w.exited))
    const exitedAfterMs = Date.now() - killedAt
    expect(exits).toEqual([105, 105])
    expect(exitedAfterMs).toBeLessThan(10_000)
    const servedAtExit = target.total()
    await new Promise((r) => setTimeout(r, 1000))
    expect(target.total()).toBe(servedAtExit)
    for (const w of workers)
      expect(w.output()).toMatch(/lost the connection to the master|master went silent/)
  })
})
