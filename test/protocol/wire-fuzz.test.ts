import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Dealer, Router } from 'zeromq'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import { decodeFromWorker, encodeToWorker } from '../../src/protocol/codec.js'
import type { WorkerToMaster } from '../../src/protocol/messages.js'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { startHorde, VOTE_SCENARIO, masterArgs } from '../helpers/horde-cli.js'
import { freePort, killAllStarted, waitFor, type TestProcess } from '../helpers/processes.js'
import { claimHugeFrameTo, listenAndClaimHugeFrame, mutate, rssBytes, seededRandom } from '../helpers/fuzz.js'
import { loadFixtures } from './fixture-manifest.js'

/** Frames per side: enough to walk every decoder path many times, bounded so the test takes seconds. */
const FRAMES = 3000
/** What a stray peer may cost a process: far below the 1.1 GB a single 4 GB frame claim used to take. */
const MAX_RSS_GROWTH_BYTES = 100 * 1024 * 1024
/** Log lines the whole fuzz may produce: rate-limited summaries, not one per frame. */
const MAX_LOG_LINES = 12
const HUGE_CLAIM = 2n ** 32n
const HUGE_SEND_BYTES = 96 * 1024 * 1024

let target: DemoTarget | undefined
const out = mkdtempSync(join(tmpdir(), 'horde-fuzz-'))
const closers: Array<() => void> = []

afterEach(async () => {
  await killAllStarted()
  for (const close of closers.splice(0)) close()
  await target?.close()
  target = undefined
})
afterAll(() => rmSync(out, { recursive: true, force: true }))

const fixtures = [...loadFixtures('locust-2.12.1'), ...loadFixtures('locust-latest')]
// A mutated client_ready could register the fuzzer as a worker, and a quit/ack legitimately changes the
// peer's state: the fuzz is about frames that must be survived, so those sources are left out.
const workerToMaster = fixtures
  .filter((f) => f.direction === 'w2m' && f.type !== 'client_ready')
  .map((f) => f.bytes)
const masterToWorker = fixtures
  .filter((f) => f.direction === 'm2w' && f.type !== 'quit' && f.type !== 'ack')
  .map((f) => f.bytes)

function lineCount(proc: TestProcess): number {
  return proc
    .output()
    .split('\n')
    .filter((l) => l.trim() !== '').length
}

describe('the wire survives hostile frames', () => {
  it('a real master: mutated and truncated Locust frames and a 4 GB frame claim cost bounded memory and logs', async () => {
    target = await startDemoTarget()
    const port = await freePort()
    const dir = join(out, 'master')
    const master = startHorde([
      ...masterArgs({
        workers: 1,
        users: 2,
        spawnRate: 2,
        duration: '2s',
        port,
        host: target.url,
        out: dir,
      }),
    ])
    await master.waitFor(/waiting for workers/, 20_000)
    const rssBefore = rssBytes(master.pid)
    const linesBefore = lineCount(master)

    const dealer = new Dealer({ routingId: 'fuzz_0123456789abcdef', linger: 0 })
    closers.push(() => dealer.close())
    dealer.connect(`tcp://127.0.0.1:${port}`)
    const random = seededRandom(20261203)
    for (let i = 0; i < FRAMES; i++) await dealer.send(mutate(workerToMaster, random))
    const huge = await claimHugeFrameTo(port, HUGE_CLAIM, HUGE_SEND_BYTES)
    expect(huge.closedByPeer).toBe(true)
    expect(huge.sentBytes).toBeLessThan(HUGE_SEND_BYTES)
    await new Promise((r) => setTimeout(r, 1000))

    expect(master.child.exitCode).toBeNull()
    expect(rssBytes(master.pid) - rssBefore).toBeLessThan(MAX_RSS_GROWTH_BYTES)
    expect(lineCount(master) - linesBefore, master.output().slice(-3000)).toBeLessThanOrEqual(MAX_LOG_LINES)

    // And it still works: a real worker joins, the run passes, and the fuzzer counted for nothing.
    startHorde(['worker', VOTE_SCENARIO, '--master-port', String(port), '--host', target.url])
    expect(await master.exited, master.output().slice(-3000)).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.workers).toHaveLength(1)
    expect(result.totals.requests).toBe(target.servedTotal())
  })

  it('a real worker: mutated and truncated master frames and a 4 GB frame claim cost bounded memory and logs', async () => {
    target = await startDemoTarget()
    const router = new Router({ handover: true, linger: 0 })
    closers.push(() => router.close())
    await router.bind('tcp://127.0.0.1:*')
    const port = Number(/:(\d+)$/.exec(router.lastEndpoint ?? '')?.[1])
    const received: WorkerToMaster[] = []
    let nodeId: Buffer | null = null
    void (async () => {
      for await (const [id, payload] of router) {
        nodeId ??= id ?? null
        const decoded = payload === undefined ? null : decodeFromWorker(payload)
        if (decoded?.ok === true) received.push(decoded.envelope.message)
      }
    })().catch(() => undefined)

    const worker = startHorde(['worker', VOTE_SCENARIO, '--master-port', String(port), '--host', target.url])
    await waitFor(() => received.some((m) => m.type === 'clientReady'), 20_000, 'client_ready')
    const id = nodeId as unknown as Buffer
    await new Promise((r) => setTimeout(r, 1500)) // past start-up: RSS and log lines settle
    const rssBefore = rssBytes(worker.pid)
    const linesBefore = lineCount(worker)
    const random = seededRandom(31)
    for (let i = 0; i < FRAMES; i++) await router.send([id, mutate(masterToWorker, random)])

    // A second worker whose "master" claims a 4 GB frame: it hangs up instead of buffering it.
    const fake = await listenAndClaimHugeFrame(HUGE_CLAIM, HUGE_SEND_BYTES)
    closers.push(() => fake.server.close())
    const victim = startHorde(['worker', VOTE_SCENARIO, '--master-port', String(fake.port)])
    const huge = await fake.result
    expect(huge.closedByPeer).toBe(true)
    expect(huge.sentBytes).toBeLessThan(HUGE_SEND_BYTES)
    await new Promise((r) => setTimeout(r, 1000))
    expect(victim.child.exitCode).toBeNull()
    expect(rssBytes(victim.pid)).toBeLessThan(300 * 1024 * 1024)

    expect(worker.child.exitCode, worker.output().slice(-3000)).toBeNull()
    expect(rssBytes(worker.pid) - rssBefore).toBeLessThan(MAX_RSS_GROWTH_BYTES)
    expect(lineCount(worker) - linesBefore, worker.output().slice(-3000)).toBeLessThanOrEqual(MAX_LOG_LINES)

    // And it still works: it registers on a real ack, reports, and quits cleanly on a real quit.
    const from = received.length
    await router.send([id, encodeToWorker(id.toString(), { type: 'ack', index: 0 })])
    await waitFor(() => received.slice(from).some((m) => m.type === 'stats'), 10_000, 'stats after ack')
    await router.send([id, encodeToWorker(id.toString(), { type: 'quit' })])
    expect(await worker.exited).toBe(0)
  })
})
