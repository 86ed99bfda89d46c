import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { Router } from 'zeromq'
import { decodeFromWorker } from '../../src/protocol/codec.js'
import type { WorkerToMaster } from '../../src/protocol/messages.js'
import { REPO_ROOT, startHorde } from '../helpers/horde-cli.js'
import { killAllStarted } from '../helpers/processes.js'
import { startTargetServer, type TargetServer } from '../helpers/target-server.js'

/**
 * Replays what a latest Locust master (2.46) sends, byte for byte from the spec-built fixtures, to a real
 * `horde worker`: master heartbeats, the spawning_complete broadcast, update_user_class, a custom message
 * with datetime maps. A raw ZeroMQ ROUTER sends the fixture payloads unchanged.
 */
const fixture = (name: string) => readFileSync(`${REPO_ROOT}test/fixtures/locust-latest/${name}`)

let router: Router | undefined
let target: TargetServer | undefined
afterEach(async () => {
  await killAllStarted()
  router?.close()
  router = undefined
  await target?.close()
  target = undefined
})

describe('a Horde worker under a latest Locust master (fixture bytes)', () => {
  it('handles every latest-only message, then quits when master heartbeats stop', async () => {
    target = await startTargetServer()
    router = new Router({ linger: 0 })
    await router.bind('tcp://127.0.0.1:0')
    const port = Number(router.lastEndpoint?.split(':').at(-1))
    const worker = startHorde([
      'worker',
      `${REPO_ROOT}test/scenarios/interop.ts`,
      '--master-port',
      String(port),
      '--host',
      target.url,
    ])
    const received: WorkerToMaster[] = []
    let id: Buffer | undefined
    const pump = (async () => {
      for await (const [routingId, payload] of router) {
        id = routingId
        const decoded = decodeFromWorker(payload as Buffer)
        if (decoded.ok) received.push(decoded.envelope.message)
      }
    })()
    const waitFor = async (type: WorkerToMaster['type'], from = 0) => {
      for (let i = 0; i < 200; i++) {
        const found = received.slice(from).find((m) => m.type === type)
        if (found) return found
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error(`no ${type}: ${worker.output()}`)
    }
    await waitFor('clientReady')
    const send = (name: string) => router!.send([id!, fixture(name)])
    await send('latest-003-m2w-ack.bin')
    await send('latest-005-m2w-heartbeat.bin')
    // The spec's spawn names MyUser/OtherUser, which this scenario does not define: served by weight (every
    // class of interop.ts makes HTTP requests, so the target sees load whichever is picked).
    await send('latest-007-m2w-spawn.bin')
    const complete = (await waitFor('spawningComplete')) as Extract<
      WorkerToMaster,
      { type: 'spawningComplete' }
    >
    expect(complete.userCount).toBe(2)
    expect(complete.userClassesCount).toMatchObject({ MyUser: 1, OtherUser: 1 })
    await send('latest-010-m2w-spawning_complete.bin')
    await send('latest-014-m2w-update_user_class.bin')
    await send('latest-018-m2w-my_custom.bin')
    // Keep the master "alive" for 3 s with heartbeats, as a latest master replies to each of ours.
    for (let i = 0; i < 6; i++) {
      await send('latest-005-m2w-heartbeat.bin')
      await new Promise((r) => setTimeout(r, 500))
    }
    expect(worker.child.exitCode).toBeNull()
    const running = received.filter((m) => m.type === 'heartbeat').at(-1)
    expect(running).toMatchObject({ state: 'running' })
    expect(target.total()).toBeGreaterThan(0)
    // Then silence while the TCP connection stays up: the worker must notice and stop its load by itself.
    const silentFrom = Date.now()
    expect(await worker.exited).toBe(105)
    expect(Date.now() - silentFrom).toBeLessThan(10_000)
    expect(worker.output()).toMatch(/master went silent/)
    expect(worker.output()).not.toMatch(/dropped a malformed message/)
    const served = target.total()
    await new Promise((r) => setTimeout(r, 500))
    expect(target.total()).toBe(served)
    router.close()
    await pump.catch(() => undefined)
  })
})
