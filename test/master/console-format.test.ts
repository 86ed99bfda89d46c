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
})
