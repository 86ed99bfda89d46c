import { afterEach, describe, expect, it } from 'vitest'
import { killAllStarted, startProcess } from '../helpers/processes.js'
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

describe('more users than the worker may open sockets', () => {
  it('queues them on the connections it may open, with one warning saying why, instead of failing with EMFILE', async () => {
    driver = await ProtocolDriver.start()
    target = await startTargetServer()
    // The 30,000-users-on-one-worker case, scaled down: 600 users under `ulimit -n 300` (the worker may
    // keep 64 connections to the target), each wanting a connection at once.
    const worker = startProcess(
      'sh',
      [
        '-c',
        `ulimit -n 300 && exec "${process.execPath}" bin/horde.js worker test/scenarios/many-users.ts --master-port ${driver.port} --host ${target.url}`,
      ],
      { env: { HORDE_LOG_LEVEL: 'info' } },
    )
    const nodeId = await driver.acceptWorker()
    const before = target.connections()
    driver.spawn(nodeId, { Holder: 600 })
    await driver.next('spawningComplete')
    await new Promise((r) => setTimeout(r, 2500))
    const from = driver.received.length
    driver.send(nodeId, { type: 'quit' })
    await driver.next('quit', 8000, from)
    expect(await worker.exited).toBe(0)

    let requests = 0
    let failures = 0
    for (const m of driver.received) {
      if (m.message.type !== 'stats') continue
      requests += m.message.report.statsTotal.numRequests
      failures += m.message.report.statsTotal.numFailures
    }
    expect(requests).toBe(target.total())
    expect(requests).toBeGreaterThan(300)
    expect(failures).toBe(0)
    expect(target.connections() - before).toBeLessThanOrEqual(64)
    const warnings = worker.output().match(/more users than this process may open connections \(ulimit -n\)/g)
    expect(warnings).toHaveLength(1)
    expect(worker.output()).toMatch(/"maxConnections":64,"openFilesLimit":300/)
    expect(worker.output()).not.toMatch(/EMFILE/)
  })
})
