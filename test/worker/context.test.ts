import { afterEach, describe, expect, it } from 'vitest'
import type { WorkerToMaster } from '../../src/protocol/messages.js'
import { REPO_ROOT, startHorde } from '../helpers/horde-cli.js'
import { killAllStarted } from '../helpers/processes.js'
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

const scenario = `${REPO_ROOT}test/scenarios/context-styles.ts`

function requestsByName(d: ProtocolDriver): Map<string, number> {
  const counts = new Map<string, number>()
  for (const m of d.received) {
    if (m.message.type !== 'stats') continue
    for (const entry of m.message.report.stats)
      counts.set(entry.name, (counts.get(entry.name) ?? 0) + entry.numRequests)
  }
  return counts
}

describe('the task context', () => {
  it('works destructured, every member; a throwing onStart stops its user (reported) before any task', async () => {
    driver = await ProtocolDriver.start()
    target = await startTargetServer()
    const worker = startHorde([
      'worker',
      scenario,
      '--master-port',
      String(driver.port),
      '--host',
      target.url,
    ])
    const nodeId = await driver.acceptWorker(2)
    driver.spawn(nodeId, { Destructured: 2, BadStart: 3 })
    await driver.next('spawningComplete')
    await new Promise((r) => setTimeout(r, 1000))
    const from = driver.received.length
    driver.send(nodeId, { type: 'quit' })
    await driver.next('quit', 5000, from)
    expect(await worker.exited).toBe(0)

    const counts = requestsByName(driver)
    // Each Destructured iteration records, measures and requests once: all three counted alike (the quit may
    // cut each of the 2 users between its measure and its request).
    const served = target.total()
    expect(served).toBeGreaterThan(10)
    expect(counts.get('/')).toBe(served)
    for (const name of ['measure', 'record-Destructured']) {
      expect(counts.get(name)).toBeGreaterThanOrEqual(served)
      expect(counts.get(name)).toBeLessThanOrEqual(served + 2)
    }
    expect(counts.has('after-bad-start')).toBe(false)

    const exceptions = driver.received
      .map((m) => m.message)
      .filter((m): m is Extract<WorkerToMaster, { type: 'exception' }> => m.type === 'exception')
    // One per BadStart user, and nothing from the destructured calls.
    expect(exceptions.map((e) => e.msg)).toEqual([
      'Error: setup failed',
      'Error: setup failed',
      'Error: setup failed',
    ])
  })
})
