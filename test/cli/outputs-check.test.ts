import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { startProcess, stopProcess, type TestProcess } from '../helpers/processes.js'

const SCENARIO = join(import.meta.dirname, '../helpers/scenarios/vote.ts')

describe('outputs and ports are checked before any load', () => {
  let target: DemoTarget
  let out: string
  let busy: Server
  let busyPort: number
  let proc: TestProcess | undefined

  beforeAll(async () => {
    target = await startDemoTarget()
    out = mkdtempSync(join(tmpdir(), 'horde-outputs-'))
    busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    busyPort = (busy.address() as { port: number }).port
  })
  afterEach(async () => {
    await stopProcess(proc)
    proc = undefined
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => busy.close(() => resolve()))
    await target.close()
    rmSync(out, { recursive: true, force: true })
  })

  function master(extra: string[]): TestProcess {
    return startProcess(process.execPath, [
      'bin/horde.js',
      'master',
      SCENARIO,
      '--expect-workers',
      '1',
      '--expect-workers-timeout',
      '5s',
      '-u',
      '1',
      '-t',
      '2s',
      '--host',
      target.url,
      '--master-host',
      '127.0.0.1',
      ...extra,
    ])
  }

  const cases: Array<[string, () => string[], RegExp]> = [
    [
      'a read-only place (/sys/kernel)',
      () => ['--out', '/sys/kernel', '--master-port', '0', '--api-port', '0'],
      /--out \/sys\/kernel cannot be used \(EACCES.*\): pass --out .* a folder this process can create and write/,
    ],
    [
      'a folder that cannot be created (under a file)',
      () => ['--out', '/etc/hostname/results', '--master-port', '0', '--api-port', '0'],
      /--out \/etc\/hostname\/results cannot be used \(.*not a directory/,
    ],
    [
      "a folder under /proc (Node's recursive mkdir spins there)",
      () => ['--out', '/proc/horde-test/results', '--master-port', '0', '--api-port', '0'],
      /--out \/proc\/horde-test\/results cannot be used \(ENOENT/,
    ],
    [
      'a master port in use',
      () => ['--out', join(out, 'port'), '--master-port', String(busyPort), '--api-port', '0'],
      /--master-port \d+ cannot be bound on 127\.0\.0\.1 .*choose a free port/,
    ],
    [
      'a control API port in use',
      () => ['--out', join(out, 'api'), '--master-port', '0', '--api-port', String(busyPort)],
      /--api-port \d+ cannot be bound on 127\.0\.0\.1 \(.*EADDRINUSE.*\): choose a free port/,
    ],
  ]

  it.each(cases)(
    'horde master with %s exits 104 with the reason and no stack trace',
    async (_name, args, message) => {
      const before = target.servedTotal()
      proc = master(args())
      // Bounded: a hang (the /proc case used to spin forever) fails here instead of holding the suite.
      const code = await Promise.race([proc.exited, new Promise((r) => setTimeout(() => r('hung'), 15_000))])
      const output = proc.output()
      expect(code, output).toBe(104)
      expect(output).toMatch(message)
      expect(output).not.toMatch(/\n\s+at /)
      expect(target.servedTotal()).toBe(before)
    },
  )

  it('horde run with an unusable --out exits 104 before starting workers', async () => {
    const before = target.servedTotal()
    proc = startProcess(process.execPath, [
      'bin/horde.js',
      'run',
      SCENARIO,
      '-u',
      '1',
      '-t',
      '2s',
      '--host',
      target.url,
      '--out',
      '/sys/kernel/horde',
    ])
    expect(await proc.exited, proc.output()).toBe(104)
    expect(proc.output()).toMatch(/--out \/sys\/kernel\/horde cannot be used/)
    expect(target.servedTotal()).toBe(before)
  })

  it('when the folder is gone at the end, the summary and verdict are printed and result.json is kept in a temp folder', async () => {
    const dir = join(out, 'vanishing')
    proc = startProcess(process.execPath, [
      'bin/horde.js',
      'run',
      SCENARIO,
      '-u',
      '2',
      '-r',
      '2',
      '-t',
      '4s',
      '--host',
      target.url,
      '--out',
      dir,
    ])
    await proc.waitFor(/\[\s+1s\]/, 20_000)
    // The folder passed the check; now it becomes a file, so nothing can be written under it.
    rmSync(dir, { recursive: true, force: true })
    writeFileSync(dir, 'not a folder')
    const code = await proc.exited
    const output = proc.output()
    expect(code, output).toBe(0)
    const kept = /outputs kept in (\S+)/.exec(output)?.[1]
    expect(kept, output).toBeDefined()
    const result = JSON.parse(readFileSync(join(kept as string, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.verdict).toBe('pass')
    expect(result.totals.requests).toBeGreaterThan(0)
    expect(output).toMatch(/Aggregated/)
    expect(output).toContain(`PASS: `)
    expect(output).toContain(`Results in ${kept as string}`)
    rmSync(kept as string, { recursive: true, force: true })
  })

  it('a second SIGINT exits at once and kills the local workers', async () => {
    proc = startProcess(process.execPath, [
      'bin/horde.js',
      'run',
      SCENARIO,
      '-u',
      '2',
      '-r',
      '2',
      '-t',
      '30s',
      '--stop-timeout',
      '20s',
      '--host',
      target.url,
      '--out',
      join(out, 'twice'),
    ])
    await proc.waitFor(/\[\s+1s\]/, 20_000)
    proc.kill('SIGINT')
    await proc.waitFor(/send it again to exit at once/, 5000)
    proc.kill('SIGINT')
    const code = await Promise.race([proc.exited, new Promise((r) => setTimeout(() => r('hung'), 5000))])
    expect(code, proc.output()).toBe(105)
    expect(proc.output()).toMatch(/SIGINT again: exiting at once/)
    // Its workers were killed with it: the target stops being served.
    const served = target.servedTotal()
    await new Promise((r) => setTimeout(r, 1000))
    expect(target.servedTotal()).toBe(served)
    expect(existsSync(join(out, 'twice', 'result.json'))).toBe(false)
  })
})
