import { afterEach, describe, expect, it } from 'vitest'
import type { WorkerToMaster } from '../../src/protocol/messages.js'
import { REPO_ROOT, startHorde } from '../helpers/horde-cli.js'
import { killAllStarted, type TestProcess } from '../helpers/processes.js'
import { ProtocolDriver } from '../helpers/protocol-driver.js'
import { startTargetServer, type TargetServer } from '../helpers/target-server.js'

let driver: ProtocolDriver | undefined
let target: TargetServer | undefined

afterEach(async () => {
  await killAllStarted()
  await driver?.close()
  await target?.close()
  driver = undefined
  target = undefined
})

const stuck = `${REPO_ROOT}test/scenarios/stuck.ts`
const blockOnce = `${REPO_ROOT}test/scenarios/block-once.ts`

/** Resolves with the exit code, or 'still running' after `ms`. */
function exitWithin(worker: TestProcess, ms: number): Promise<number | string> {
  return Promise.race([worker.exited, new Promise<string>((r) => setTimeout(() => r('still running'), ms))])
}

async function stuckWorker(stopTimeoutSec: number): Promise<{ worker: TestProcess; nodeId: string }> {
  driver = await ProtocolDriver.start()
  target = await startTargetServer()
  const worker = startHorde(['worker', stuck, '--master-port', String(driver.port), '--host', target.url])
  const nodeId = await driver.acceptWorker()
  driver.spawn(nodeId, { Stuck: 1, SlowResponse: 1, Normal: 1 }, stopTimeoutSec)
  await driver.next('spawningComplete')
  // The normal user is making requests: every user has started its first task by now.
  const deadline = Date.now() + 5000
  while (target.total() < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  return { worker, nodeId }
}

describe('a task that never settles cannot hold the worker', () => {
  it('on quit: abandons it after the stop timeout, reports the count, exits 0', async () => {
    const { worker, nodeId } = await stuckWorker(2)
    const from = driver!.received.length
    const quitAt = Date.now()
    driver!.send(nodeId, { type: 'quit' })
    // stop timeout 2 s + a margin for the final report, the socket linger and process exit.
    expect(await exitWithin(worker, 2000 + 4000)).toBe(0)
    expect(Date.now() - quitAt).toBeGreaterThanOrEqual(1900)
    const final = driver!.received
      .slice(from)
      .find((m) => m.message.type === 'custom' && m.message.name === 'horde_final')
    expect((final?.message as Extract<WorkerToMaster, { type: 'custom' }>).data).toEqual({
      v: 1,
      abandonedTasks: 2,
    })
    expect(worker.output()).toMatch(/"abandonedTasks":2[^\n]*abandoned/)
    const served = target!.total()
    await new Promise((r) => setTimeout(r, 500))
    expect(target!.total()).toBe(served)
  })

  it('on stop (a Locust master): client_stopped comes within the stop timeout + margin, then ready again', async () => {
    const { worker, nodeId } = await stuckWorker(1)
    const from = driver!.received.length
    const stopAt = Date.now()
    driver!.send(nodeId, { type: 'stop' })
    const stopped = await driver!.next('clientStopped', 6000, from)
    expect(stopped.atMs - stopAt).toBeLessThan(1000 + 1000 + 2000)
    await driver!.next('clientReady', 5000, from)
    expect(worker.output()).toMatch(/"abandonedTasks":2[^\n]*left behind/)
    expect(worker.child.exitCode).toBeNull()
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal}: exits 105 within the stop timeout + margin`, async () => {
      const { worker } = await stuckWorker(1)
      worker.kill(signal)
      expect(await exitWithin(worker, 1000 + 4000)).toBe(105)
      expect(worker.output()).toMatch(/"abandonedTasks":2/)
    })
  }
})

describe('orphan load after a blocked event loop', () => {
  it('a worker that gave up on its master ignores the spawns queued meanwhile and stops its load', async () => {
    driver = await ProtocolDriver.start()
    target = await startTargetServer()
    const worker = startHorde(
      ['worker', blockOnce, '--master-port', String(driver.port), '--host', target.url],
      {
        HORDE_TEST_BLOCK_MS: '7000',
      },
    )
    const nodeId = await driver.acceptWorker()
    await driver.next('heartbeat')
    driver.spawn(nodeId, { Blocker: 2 })
    await driver.next('spawningComplete')
    // While the worker is blocked (7 s > its 5 s master timeout), a master keeps rebalancing: spawns queue up
    // in the worker's socket and keep coming after it wakes and gives up.
    const spawner = setInterval(() => driver?.spawn(nodeId, { Blocker: 2 }), 50)
    try {
      const code = await exitWithin(worker, 20_000)
      expect(code).toBe(105)
    } finally {
      clearInterval(spawner)
    }
    const output = worker.output()
    expect(output).toMatch(/master went silent/)
    const afterGivingUp = output.slice(output.indexOf('master went silent'))
    expect(afterGivingUp).not.toMatch(/users spawned/)
    const served = target.total()
    await new Promise((r) => setTimeout(r, 1000))
    expect(target.total()).toBe(served)
  })
})
