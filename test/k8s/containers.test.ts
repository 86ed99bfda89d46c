/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   rendered manifests are parsed YAML (validated against the Kubernetes schemas in render.test.ts). */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Storage } from '@google-cloud/storage'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import type { RunResult } from '../../src/shared/result.js'
import type { TerminationSummary } from '../../src/cli/termination-message.js'
import { startGcsEmulatorAsStore, type GcsEmulator } from '../helpers/gcs-emulator.js'
import { find, renderRun, type K8sObject } from '../helpers/k8s-render.js'
import { buildHordeImage, podman, podRunArgs, removeContainers, startPodman } from '../helpers/containers.js'
import { freePort, startProcess, waitFor, type TestProcess } from '../helpers/processes.js'
import { HORDE_BIN } from '../helpers/horde-cli.js'
import { OPEN_MODEL_NODE_FLAGS } from '../../src/cli/worker-node-flags.js'

/**
 * The rehearsal of a Kubernetes run with real containers (no cluster runs here): the image built from the
 * Dockerfile, a run rendered by `horde k8s render`, and each rendered pod spec run as a container of that image
 * on the host's loopback, the master's Service name resolving to 127.0.0.1. What differs from a cluster, and
 * why: the master and API bind 127.0.0.1 on free ports instead of 0.0.0.0:5557/8089 (on the host's network
 * 0.0.0.0 would be every interface of this machine and the fixed ports may be taken), the master reaches the
 * GCS emulator instead of GCS, and no Secret exists (the optional secretKeyRefs are absent).
 */
const BUCKET = 'horde-rehearsal'
let image: string
let emulator: GcsEmulator | undefined
let tmp: string

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'horde-rehearsal-'))
  image = await buildHordeImage()
  emulator = await startGcsEmulatorAsStore()
}, 900_000)

afterAll(async () => {
  await emulator?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

interface Rehearsal {
  runId: string
  master: TestProcess
  workers: TestProcess[]
  out: string
  terminationLog: string
  names: string[]
  masterJob: K8sObject
  /** Starts a worker pod of this run (the Job controller's replacement for a failed one). */
  startWorker(index: number, name: string): TestProcess
}

let target: DemoTarget | undefined
let containers: string[] = []
afterEach(async () => {
  await removeContainers(containers)
  containers = []
  await target?.close()
  target = undefined
})

/** Renders a run with `horde k8s render` and starts its master and `pods` worker pods as containers. */
async function rehearse(runId: string, pods: number, load: string[]): Promise<Rehearsal> {
  target = await startDemoTarget()
  const r = await renderRun([
    'scenarios/demo.ts',
    '--pods',
    String(pods),
    '--image',
    image,
    '--host',
    target.url,
    '--store',
    `gs://${BUCKET}/reports`,
    '--run-id',
    runId,
    '--expect-workers-timeout',
    '90s',
    '--dir',
    join(tmp, `k8s-${runId}`),
    ...load,
  ])
  expect(r.code, r.stderr).toBe(0)
  const masterJob = find(r.objects, 'Job', 'horde-master-')
  const workerJob = find(r.objects, 'Job', 'horde-worker-')
  const configMap = find(r.objects, 'ConfigMap', 'horde-run-')
  const service = find(r.objects, 'Service', 'horde-master-')
  const [zmqPort, apiPort] = [await freePort(), await freePort()]
  const loopback = {
    HORDE_MASTER_PORT: String(zmqPort),
    HORDE_API_PORT: String(apiPort),
    HORDE_API_HOST: '127.0.0.1',
  }
  const out = join(tmp, `out-${runId}`)
  mkdirSync(out)
  chmodSync(out, 0o777) // an emptyDir is writable by the pod's user (fsGroup)
  const terminationLog = join(tmp, `termination-${runId}`)
  writeFileSync(terminationLog, '')
  chmodSync(terminationLog, 0o666)
  const names = [`${runId}-master`, ...Array.from({ length: pods }, (_, i) => `${runId}-worker-${i}`)]
  // A container of an earlier, interrupted run of this test would hold the name and keep a worker out.
  await removeContainers(names)
  containers.push(...names)
  const master = startPodman(
    podRunArgs(masterJob, configMap, {
      name: names[0] as string,
      overrides: {
        ...loopback,
        HORDE_MASTER_BIND_HOST: '127.0.0.1',
        STORAGE_EMULATOR_HOST: emulator?.host ?? '',
      },
      volumes: { out },
      terminationLog,
    }),
  )
  const startWorker = (index: number, name: string): TestProcess => {
    if (!containers.includes(name)) containers.push(name)
    return startPodman(
      podRunArgs(workerJob, configMap, { name, index, overrides: loopback, hosts: [service.metadata.name] }),
    )
  }
  const workers = Array.from({ length: pods }, (_, i) => startWorker(i, names[i + 1] as string))
  return { runId, master, workers, out, terminationLog, names, masterJob, startWorker }
}

/** Waits for load at the target; on timeout the error carries what the containers said. */
async function waitForLoad(run: Rehearsal): Promise<void> {
  await waitFor(() => (target?.servedTotal() ?? 0) > 100, 120_000, 'load from the workers').catch(
    (error: Error) => {
      const said = [run.master, ...run.workers].map((p) => p.output().slice(-1500)).join('\n---\n')
      throw new Error(`${error.message}\n${said}`)
    },
  )
}

const readResult = (out: string): RunResult =>
  JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as RunResult
const readSummary = (file: string): TerminationSummary =>
  JSON.parse(readFileSync(file, 'utf8')) as TerminationSummary
const exitedWithin = async (procs: TestProcess[], ms: number): Promise<Array<number | string | null>> =>
  Promise.race([
    Promise.all(procs.map((p) => p.exited)),
    new Promise<null[]>((r) => setTimeout(() => r(procs.map(() => null)), ms)),
  ])

describe('a Kubernetes run rehearsed with real containers (podman + runc, loopback only)', () => {
  it('3 worker pods: totals equal what the target served, verdict pass, termination message agrees, report in GCS, workers exit after quit', async () => {
    const run = await rehearse('rehearsal-ok', 3, ['--users', '6', '--spawn-rate', '6', '--duration', '8s'])
    const code = await run.master.exited
    expect(code, run.master.output().slice(-4000)).toBe(0)
    const result = readResult(run.out)
    expect(result.verdict).toBe('pass')
    expect(result.workers).toHaveLength(3)
    expect(result.totals.requests).toBeGreaterThan(50)
    expect(result.totals.requests).toBe(target?.servedTotal())
    const summary = readSummary(run.terminationLog)
    expect(summary).toMatchObject({ verdict: 'pass', exitCode: code, runId: 'rehearsal-ok' })
    expect(summary.totals.requests).toBe(result.totals.requests)
    expect(summary.reportUrl).toContain(
      `/b/${BUCKET}/o/${encodeURIComponent('reports/vote-demo/rehearsal-ok/index.html')}`,
    )
    const [files] = await new Storage({ projectId: 'demo-horde' })
      .bucket(BUCKET)
      .getFiles({ prefix: 'reports/vote-demo/rehearsal-ok/' })
    expect(files.map((f) => f.name).sort()).toEqual(
      expect.arrayContaining([
        'reports/vote-demo/rehearsal-ok/index.html',
        'reports/vote-demo/rehearsal-ok/result.json',
      ]),
    )
    expect(await exitedWithin(run.workers, 15_000)).toEqual([0, 0, 0])
  }, 180_000) // containers start slowly on a busy 2-core machine; bounded all the same

  it('SIGKILL of a worker pod: marked missing, its users moved to the others, verdict invalid (not replaced)', async () => {
    const run = await rehearse('rehearsal-kill', 3, [
      '--users',
      '6',
      '--spawn-rate',
      '6',
      '--duration',
      '16s',
    ])
    await waitForLoad(run)
    await podman(['kill', '--signal', 'KILL', run.names[2] as string])
    expect(await run.workers[1]?.exited).toBe(137)
    const code = await run.master.exited
    expect(code, run.master.output().slice(-4000)).toBe(106)
    const result = readResult(run.out)
    expect(result.verdict).toBe('invalid')
    expect(result.events.some((e) => e.kind === 'worker-missing')).toBe(true)
    expect(result.verdictReasons.join(' ')).toMatch(/lost|missing/i)
    // After the loss the two remaining workers carry all 6 users.
    const after = result.timeSeries.filter((p) => p.workers === 2)
    expect(after.length).toBeGreaterThan(0)
    expect(after.at(-1)?.users).toBe(6)
    // What the killed worker served after its last stats report (every 3 s) is lost with it; everything else
    // is counted: at most one interval of one worker's third of the users is missing.
    const served = target?.servedTotal() ?? 0
    expect(result.totals.requests).toBeLessThanOrEqual(served)
    expect(served - result.totals.requests).toBeLessThan(served / 4)
    expect(readSummary(run.terminationLog)).toMatchObject({ verdict: 'invalid', exitCode: 106 })
    expect(await exitedWithin([run.workers[0], run.workers[2]] as TestProcess[], 15_000)).toEqual([0, 0])
  }, 180_000) // containers start slowly on a busy 2-core machine; bounded all the same

  it('SIGKILL of a worker pod replaced by the Job (same index): its users come back to it, verdict pass', async () => {
    const run = await rehearse('rehearsal-replace', 3, [
      '--users',
      '6',
      '--spawn-rate',
      '6',
      '--duration',
      '30s',
    ])
    await waitForLoad(run)
    await podman(['kill', '--signal', 'KILL', run.names[2] as string])
    expect(await run.workers[1]?.exited).toBe(137)
    await waitFor(
      () => run.master.output().includes('missing'),
      20_000,
      'the master to mark the worker missing',
    )
    const replacement = run.startWorker(1, `${run.names[2] as string}-retry`)
    const code = await run.master.exited
    expect(code, run.master.output().slice(-4000)).toBe(0)
    const result = readResult(run.out)
    expect(result.verdict).toBe('pass')
    const kinds = result.events.map((e) => e.kind)
    expect(kinds).toContain('worker-missing')
    expect(kinds.lastIndexOf('worker-joined')).toBeGreaterThan(kinds.indexOf('worker-missing'))
    // The last second before the stop (the master now goes on sampling while it waits for every quit).
    const last = result.timeSeries.filter((p) => !p.warmup && p.phase !== 'stopping').at(-1)
    expect(last).toMatchObject({ workers: 3, users: 6 })
    expect(
      await exitedWithin([run.workers[0], run.workers[2], replacement] as TestProcess[], 15_000),
    ).toEqual([0, 0, 0])
  }, 180_000) // containers start slowly on a busy 2-core machine; bounded all the same

  it('SIGTERM to the master pod with its grace period: verdict stopped, result stored, workers gone within 10 s, no load after', async () => {
    const run = await rehearse('rehearsal-term', 2, ['--users', '4', '--spawn-rate', '4', '--duration', '5m'])
    await waitForLoad(run)
    const grace = run.masterJob.spec.template.spec.terminationGracePeriodSeconds as number
    const stopped = podman(['stop', '--time', String(grace), run.names[0] as string], (grace + 30) * 1000)
    const code = await run.master.exited
    await stopped
    expect(code, run.master.output().slice(-4000)).toBe(105)
    expect(await exitedWithin(run.workers, 10_000)).toEqual([0, 0])
    const served = target?.servedTotal()
    await new Promise((r) => setTimeout(r, 1500))
    expect(target?.servedTotal()).toBe(served) // nothing keeps sending load
    const result = readResult(run.out)
    expect(result.verdict).toBe('stopped')
    expect(result.verdictReasons.join(' ')).toMatch(/SIGTERM/)
    expect(result.totals.requests).toBe(served)
    expect(readSummary(run.terminationLog)).toMatchObject({ verdict: 'stopped', exitCode: 105 })
    const [files] = await new Storage({ projectId: 'demo-horde' })
      .bucket(BUCKET)
      .getFiles({ prefix: 'reports/vote-demo/rehearsal-term/' })
    expect(files.map((f) => f.name)).toContain('reports/vote-demo/rehearsal-term/result.json')
  }, 180_000) // containers start slowly on a busy 2-core machine; bounded all the same
})

/** The Node flags (before the script) of a process's command line. */
function nodeFlagsOf(cmdline: string): string[] {
  const argv = cmdline.split('\0').filter(Boolean)
  const script = argv.findIndex((a, i) => i > 0 && !a.startsWith('-'))
  return argv.slice(1, script)
}

function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return (
          readFileSync(`/proc/${d}/stat`, 'utf8')
            .replace(/^.*\) /, '')
            .split(' ')[1] === String(pid)
        )
      } catch {
        return false
      }
    })
    .map(Number)
}

describe('Node flags of open-model workers', () => {
  it('the image starts open-model worker pods with the same Node flags as horde run gives its local workers', async () => {
    target = await startDemoTarget()
    // horde run, open model: read its worker process's command line.
    const local = startProcess(process.execPath, [
      HORDE_BIN,
      'run',
      'scenarios/demo.ts',
      '--rps',
      '10',
      '-t',
      '4s',
      '-w',
      '1',
      '--host',
      target.url,
      '--out',
      join(tmp, 'open-local'),
    ])
    let localFlags: string[] = []
    await waitFor(
      () => {
        const child = childPids(local.pid)[0]
        if (child === undefined) return false
        localFlags = nodeFlagsOf(readFileSync(`/proc/${child}/cmdline`, 'utf8'))
        return true
      },
      20_000,
      'a local worker process',
    )
    expect(await local.exited, local.output()).toBe(0)

    // The rendered open-model worker pod, run from the image: PID 1's command line inside the container.
    const r = await renderRun([
      'scenarios/demo.ts',
      '--pods',
      '1',
      '--image',
      image,
      '--rps',
      '10',
      '-t',
      '1m',
      '--host',
      target.url,
      '--run-id',
      'open-flags',
      '--dir',
      join(tmp, 'k8s-open-flags'),
    ])
    expect(r.code, r.stderr).toBe(0)
    const name = 'open-flags-worker-0'
    containers.push(name)
    const worker = startPodman(
      podRunArgs(find(r.objects, 'Job', 'horde-worker-'), find(r.objects, 'ConfigMap', 'horde-run-'), {
        name,
        // No master in this test: the worker waits for one; it is removed at the end.
        overrides: { HORDE_MASTER_PORT: String(await freePort()), HORDE_MASTER_TIMEOUT: '60s' },
        hosts: [find(r.objects, 'Service', 'horde-master-').metadata.name],
      }),
    )
    let podFlags: string[] = []
    for (let i = 0; i < 100 && podFlags.length === 0; i++) {
      const cmdline = await podman(['exec', name, 'cat', '/proc/1/cmdline']).catch(() => '')
      if (cmdline !== '') podFlags = nodeFlagsOf(cmdline)
      else await new Promise((res) => setTimeout(res, 300))
    }
    expect(localFlags).toEqual([...OPEN_MODEL_NODE_FLAGS])
    expect(podFlags).toEqual(localFlags)
    expect(worker.output()).not.toMatch(/bad option|unrecognized/i) // node accepted them
  }, 180_000) // containers start slowly on a busy 2-core machine; bounded all the same
})
