import { describe, expect, it } from 'vitest'
import type { StatsEntryWire } from '../../src/protocol/messages.js'
import { SecondBin } from '../../src/master/second-bin.js'
import { progressLine } from '../../src/master/console-format.js'
import type { Progress } from '../../src/master/coordinator.js'
import { txProgress, txProgressLine } from '../../src/master/tx-progress.js'

/** A worker's report entry for `count` requests that each took `ms`, `failures` of them failed. */
function entry(method: string, name: string, count: number, ms: number, failures = 0): StatsEntryWire {
  return {
    name,
    method,
    lastRequestTimestamp: 1,
    startTime: 0,
    numRequests: count,
    numNoneRequests: 0,
    numFailures: failures,
    totalResponseTime: count * ms,
    maxResponseTime: ms,
    minResponseTime: ms,
    totalContentLength: 0,
    responseTimes: new Map([[ms, count]]),
    numReqsPerSec: new Map(),
    numFailPerSec: new Map(),
  }
}

function secondsWith(
  rows: Array<[second: number, method: string, name: string, count: number, ms: number, failures?: number]>,
) {
  const seconds = new Map<number, SecondBin>()
  for (const [second, method, name, count, ms, failures = 0] of rows) {
    let bin = seconds.get(second)
    if (bin === undefined) seconds.set(second, (bin = new SecondBin(second)))
    bin
      .endpoint(method, name)
      .addShare(entry(method, name, count, ms, failures), { requests: count, failures, from: 0, to: 1 }, null)
  }
  return seconds
}

describe('per-second progress per transaction type (JdbcRunner style)', () => {
  it('gives tps, failures, avg and p95 per transaction over the window, busiest first, pool waits and HTTP left out', () => {
    const seconds = secondsWith([
      [100, 'TX', 'transfer', 300, 4],
      [101, 'TX', 'transfer', 300, 8, 3],
      [102, 'TX', 'transfer', 300, 4],
      [100, 'TX', 'balance', 60, 2],
      [101, 'SQL', 'UPDATE accounts SET balance', 600, 1],
      [101, 'POOL', 'transfer pool wait', 300, 50],
      [101, 'GET', '/health', 900, 1],
      [103, 'TX', 'audit', 5000, 1], // outside the window [100, 103)
    ])
    const tx = txProgress(seconds, 100, 3)
    expect(tx).toEqual({
      type: 'TX',
      tps: 320,
      more: 0,
      types: [
        { name: 'transfer', tps: 300, failuresPerSec: 1, avgMs: (600 * 4 + 300 * 8) / 900, p95Ms: 8 },
        { name: 'balance', tps: 20, failuresPerSec: 0, avgMs: 2, p95Ms: 2 },
      ],
    })
    expect(txProgressLine('   12s', tx!)).toBe(
      '[   12s] tx 320.0 tps: transfer 300.0 tps (1.0 failed) avg 5.3 p95 8.0 ms, balance 20.0 tps avg 2.0 p95 2.0 ms',
    )
  })

  it('names at most the top types and counts the rest as "+K more"; queries are the types when there is no transaction', () => {
    const rows: Parameters<typeof secondsWith>[0] = []
    for (let i = 1; i <= 8; i++) rows.push([50, 'SQL', `q${i}`, i * 10, i])
    const tx = txProgress(secondsWith(rows), 50, 1, 3)
    expect(tx?.type).toBe('SQL')
    expect(tx?.types.map((t) => t.name)).toEqual(['q8', 'q7', 'q6'])
    expect(tx?.more).toBe(5)
    expect(tx?.tps).toBe(360)
    expect(txProgressLine('    1s', tx!)).toMatch(
      /^\[ {4}1s\] sql 360\.0 tps: q8 80\.0 tps .*, q6 60\.0 tps avg 6\.0 p95 6\.0 ms, \+5 more$/,
    )
  })

  it('adds nothing to an HTTP run: no transaction line under the progress line', () => {
    const seconds = secondsWith([
      [7, 'GET', '/', 100, 3],
      [7, 'POOL', 'x pool wait', 1, 1],
    ])
    expect(txProgress(seconds, 7, 1)).toBeUndefined()
    const progress: Progress = {
      elapsedMs: 5000,
      users: 1,
      targetUsers: 1,
      workers: 1,
      rps: 1,
      failuresPerSec: 0,
      exceptionsPerSec: 0,
      p95Ms: 1,
      phase: 'running',
      warmup: false,
    }
    expect(progressLine(progress)).not.toContain('\n')
    const tx = txProgress(secondsWith([[7, 'TX', 't', 10, 3]]), 7, 1)
    expect(progressLine({ ...progress, ...(tx ? { tx } : {}) }).split('\n')[1]).toBe(
      '[   5s] tx 10.0 tps: t 10.0 tps avg 3.0 p95 3.0 ms',
    )
  })
})
