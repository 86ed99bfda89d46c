import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type DemoTarget } from '../../src/cli/demo-target.js'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { REPO_ROOT, startProcess, stopProcess, type TestProcess } from '../helpers/processes.js'

describe('a worker whose event loop is blocked counts every blocked second', () => {
  let target: DemoTarget
  let out: string
  let run: TestProcess | undefined
  beforeAll(async () => {
    target = await startDemoTarget()
    out = mkdtempSync(join(tmpdir(), 'horde-saturation-'))
  })
  afterAll(async () => {
    await stopProcess(run)
    await target.close()
    rmSync(out, { recursive: true, force: true })
  })

  it('worker 0 blocked 1.8 s every 3.8 s of a 20 s run: ≥ 5 saturated seconds, verdict invalid (exit 106)', async () => {
    // Blocks stay under the master's 3 s heartbeat timeout, so the worker is never "missing": only the
    // saturation count can make this run invalid. Before, each stall counted as one second (2–3 in total).
    run = startProcess(
      process.execPath,
      [
        'bin/horde.js',
        'run',
        `${REPO_ROOT}test/scenarios/block-repeatedly.ts`,
        '-u',
        '2',
        '-r',
        '2',
        '-w',
        '2',
        '-t',
        '20s',
        '--host',
        target.url,
        '--out',
        out,
      ],
      { env: { HORDE_TEST_BLOCK_MS: '1800', HORDE_TEST_BLOCK_GAP_MS: '2000' } },
    )
    const code = await run.exited
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as MasterRunResult
    const blocked = result.workers.find((w) => w.index === 0)
    const calm = result.workers.find((w) => w.index === 1)
    expect(code, `${run.output()}\n${JSON.stringify(result.workers)}`).toBe(106)
    expect(result.verdict).toBe('invalid')
    // About 5 stalls of 1.8 s each cover 2 (or 3) seconds apiece; a busy machine may delay one or two.
    expect(blocked?.saturatedSeconds).toBeGreaterThanOrEqual(5)
    expect(blocked?.saturatedSeconds).toBeLessThanOrEqual(20)
    expect(calm?.saturatedSeconds).toBeLessThan(5)
    expect(result.verdictReasons.join(' ')).toMatch(/Worker 0 was saturated .* for \d+ s/)
    expect(blocked?.missingEvents).toBe(0)
  })
})
