import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { HORDE_BIN, REPO_ROOT, VOTE_SCENARIO } from '../helpers/horde-cli.js'
import { createHosts, type NetnsHosts } from '../helpers/netns.js'
import { killAllStarted, startProcess, waitFor, type TestProcess } from '../helpers/processes.js'

let hosts: NetnsHosts | undefined
let out: string | undefined

afterEach(async () => {
  await killAllStarted()
  hosts?.destroy()
  hosts = undefined
  if (out !== undefined) rmSync(out, { recursive: true, force: true })
  out = undefined
})

function inNs(ns: string, args: string[]): TestProcess {
  return startProcess('ip', ['netns', 'exec', ns, process.execPath, ...args], {
    env: { HORDE_LOG_LEVEL: 'info' },
  })
}

/** The target's own count, sampled with the time we read it. */
function sampler(target: TestProcess): { samples: Array<[number, number]>; stop(): void } {
  const samples: Array<[number, number]> = []
  const timer = setInterval(() => {
    const all = target.output().match(/served (\d+)/g)
    if (all !== null) samples.push([Date.now(), Number((all.at(-1) as string).slice(7))])
  }, 100)
  return { samples, stop: () => clearInterval(timer) }
}

function servedAt(samples: Array<[number, number]>, atMs: number): number {
  let value = 0
  for (const [t, n] of samples) if (t <= atMs) value = n
  return value
}

const MASTER_TIMEOUT_MS = 5000

describe('a partition between master and worker (network namespaces)', () => {
  it('the cut-off worker stops its load within its master timeout, its users move; healed, it rejoins and runs again', async () => {
    hosts = createHosts(['master', 'w1', 'w2'])
    out = mkdtempSync(join(tmpdir(), 'horde-partition-'))
    const masterAddress = hosts.address.master as string
    // Each worker loads a target on its own namespace's 127.0.0.1: loopback only, and untouched by the cut.
    const targets = ['w1', 'w2'].map((h) =>
      inNs(hosts!.ns[h] as string, [`${REPO_ROOT}test/helpers/netns-target.mjs`, '8080', '90']),
    )
    await Promise.all(targets.map((t) => t.waitFor(/listening/, 10_000)))
    const [w1Target, w2Target] = targets.map(sampler)
    const master = inNs(hosts.ns.master as string, [
      HORDE_BIN,
      'master',
      VOTE_SCENARIO,
      '--expect-workers',
      '2',
      '-u',
      '4',
      '-r',
      '4',
      '-t',
      '40s',
      '--master-host',
      masterAddress,
      '--master-port',
      '5557',
      '--host',
      'http://127.0.0.1:8080',
      '--skip-host-check', // the target lives on each worker's own loopback, not the master's
      '--api-port',
      '0',
      '--out',
      out,
    ])
    await master.waitFor(/waiting for workers/, 20_000)
    const workers = ['w1', 'w2'].map((h) =>
      inNs(hosts!.ns[h] as string, [
        HORDE_BIN,
        'worker',
        VOTE_SCENARIO,
        '--master-host',
        masterAddress,
        '--master-port',
        '5557',
        '--host',
        'http://127.0.0.1:8080',
        '--rejoin-window',
        '60s',
      ]),
    )
    const [w1, w2] = workers as [TestProcess, TestProcess]
    try {
      await Promise.all(workers.map((w) => w.waitFor(/users spawned/, 20_000)))
      await new Promise((r) => setTimeout(r, 3000))
      const before = servedAt(w1Target!.samples, Date.now())
      expect(before).toBeGreaterThan(0)

      hosts.cut('w1')
      const cutAt = Date.now()
      // The master marks w1 missing and gives its users to w2 (4 users there now).
      await master.waitFor(/failed to send heartbeat[^\n]*missing; its users move to the 1 others/, 15_000)
      await w2.waitFor(/"total":4[^\n]*users spawned/, 10_000)
      await w1.waitFor(/all users stopped; asking the master to take us back/, 15_000)
      // w1's target sees nothing once the master timeout (+ the heartbeat check period and margins) has passed.
      await new Promise((r) => setTimeout(r, 2000))
      const quietFrom = cutAt + MASTER_TIMEOUT_MS + 3000 + 1000
      await waitFor(() => Date.now() > quietFrom + 2000, 20_000, 'the quiet window')
      expect(servedAt(w1Target!.samples, Date.now())).toBe(servedAt(w1Target!.samples, quietFrom))
      expect(w1.child.exitCode).toBeNull()

      hosts.heal('w1')
      const healedAt = Date.now()
      await w1.waitFor(/rejoined the master/, 20_000)
      await w1.waitFor(/users spawned[\s\S]*users spawned/, 10_000)
      await waitFor(
        () => servedAt(w1Target!.samples, Date.now()) > servedAt(w1Target!.samples, healedAt),
        10_000,
        'w1 loading again',
      )
      expect(await master.exited, master.output().slice(-3000)).toBe(0)
      expect(await w1.exited).toBe(0)
      expect(await w2.exited).toBe(0)
      const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as MasterRunResult
      const kinds = result.events.map((e) => e.kind)
      expect(kinds).toContain('worker-missing')
      expect(result.verdict).toBe('pass')
      expect(result.unconfirmedWorkers).toEqual([])
    } finally {
      w1Target?.stop()
      w2Target?.stop()
    }
  }, 120_000)
})
