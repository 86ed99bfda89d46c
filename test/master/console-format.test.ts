import { describe, expect, it } from 'vitest'
import { progressLine, summaryTable } from '../../src/master/console-format.js'
import type { Progress } from '../../src/master/coordinator.js'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { makeRunResult } from '../helpers/run-result-fixture.js'

const progress: Progress = {
  elapsedMs: 12_300,
  users: 40,
  targetUsers: 50,
  workers: 2,
  rps: 812.4,
  failuresPerSec: 0,
  exceptionsPerSec: 0,
  p95Ms: 31,
  phase: 'running',
  warmup: false,
}

function masterResult(targetRps?: number): MasterRunResult {
  return {
    ...makeRunResult(targetRps === undefined ? {} : { targetRps }),
    percentileSource: 'horde-hdr',
    warmupTotals: null,
    exceptions: [],
    stopCause: 'duration',
    openModel: null,
  }
}

describe('console output', () => {
  it('closed model: the progress line shows users against the target', () => {
    expect(progressLine(progress)).toMatch(/^\[ {2}12s\] users {3}40\/50 {2}rps {3}812\.4/)
  })

  it('open model: the progress line shows achieved against target iterations/s, and drops when there are any', () => {
    const line = progressLine({
      ...progress,
      open: { targetRps: 300, startedPerSec: 297.3, droppedPerSec: 0 },
    })
    expect(line).toContain('iterations/s   297.3/300.0')
    expect(line).not.toContain('users')
    expect(line).not.toContain('dropped')
    const dropping = progressLine({
      ...progress,
      open: { targetRps: 300, startedPerSec: 250, droppedPerSec: 50 },
    })
    expect(dropping).toContain('dropped/s 50.0')
  })

  it('open model: the summary adds achieved vs target rate, drops and the corrected percentiles', () => {
    expect(summaryTable(masterResult())).not.toContain('Open model')
    const result = masterResult(300)
    result.openModel = {
      ...makeRunResult({ targetRps: 300 }).openModel!,
      achievedRps: 297.25,
      targetRps: 300,
      droppedIterations: 12,
      droppedRate: 0.0007,
    }
    result.openModel.correctedLatency.p99Ms = 812.4
    const text = summaryTable(result)
    expect(text).toContain('Open model: 297.3 of 300.0 iterations/s achieved, 12 dropped (0.07%)')
    expect(text).toMatch(/coordinated omission corrected\): .* p99 812 /)
  })

  it('the progress line shows task exceptions per second when there are any', () => {
    expect(progressLine(progress)).not.toContain('exc/s')
    expect(progressLine({ ...progress, exceptionsPerSec: 48.7 })).toMatch(/fail\/s +0\.0 {2}exc\/s 48\.7/)
  })

  it('the summary lists the top exceptions with their counts, most frequent first', () => {
    const result = masterResult()
    result.exceptions = [
      {
        count: 3,
        msg: 'Error: rare',
        traceback: 'Error: rare\n    at rare (/s.ts:1:1)',
        nodes: ['w1'],
      },
      {
        count: 232_627,
        msg: "TypeError: Cannot read properties of undefined (reading 'stats')",
        traceback:
          "TypeError: Cannot read properties of undefined (reading 'stats')\n    at record (/src/worker/user-context.ts:40:12)\n    at task (/s.ts:9:3)",
        nodes: ['w1', 'w2'],
      },
    ]
    const text = summaryTable(result)
    expect(text).toContain('Exceptions in tasks: 232630 reported')
    const lines = text.split('\n')
    const first = lines.findIndex((l) => l.includes('232627x'))
    expect(lines[first]).toContain(
      "232627x TypeError: Cannot read properties of undefined (reading 'stats') (at record (/src/worker/user-context.ts:40:12))",
    )
    expect(lines[first + 1]).toContain('3x Error: rare (at rare (/s.ts:1:1))')
    expect(summaryTable(masterResult())).not.toContain('Exceptions')
  })
})
