import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import type { HttpTransport } from '../../src/worker/http/http-client.js'
import { MAX_STARTS_PER_TURN, OpenModelRunner } from '../../src/worker/open-model.js'
import { task, user } from '../../src/worker/scenario.js'
import { RequestStats } from '../../src/worker/stats.js'
import { UserClass } from '../../src/worker/user-runner.js'

const busyFor = (ms: number): void => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // a cold iteration start: JIT not done, a new connection to open
  }
}

describe('OpenModelRunner', () => {
  it('starts a backlog a chunk per event-loop turn, so timers (heartbeats) keep running', async () => {
    // Each start costs 1 ms of CPU: at 3,000/s the runner falls behind and a backlog builds. Started in one
    // go, each backlog would block the loop longer than the last (seconds, until the 2 s queue limit drops).
    const classes = new Map([
      [
        'Cold',
        new UserClass(
          'Cold',
          user({
            tasks: {
              start: task(1, async () => {
                busyFor(1)
                await new Promise((r) => setTimeout(r, 5))
              }),
            },
          }),
        ),
      ],
    ])
    const exceptions: unknown[] = []
    const runner = new OpenModelRunner(
      {
        classes,
        // The task makes no request: the transport is never used.
        transport: {} as HttpTransport,
        recorder: new RequestStats(),
        log: pino({ level: 'silent' }),
        workerIndexOf: () => 0,
        onException: (_c, e) => exceptions.push(e),
      },
      3000,
      3000,
    )
    let last = performance.now()
    let maxGapMs = 0
    const probe = setInterval(() => {
      const now = performance.now()
      maxGapMs = Math.max(maxGapMs, now - last)
      last = now
    }, 5)
    runner.start()
    await new Promise((r) => setTimeout(r, 2500))
    await runner.stop(0)
    clearInterval(probe)
    const counts = runner.takeCounts()
    const started = counts.reduce((a, c) => a + c.started, 0)
    expect(exceptions).toEqual([])
    // No turn ran much longer than a chunk of starts (128 ms of them here; ~270 ms seen with the completions
    // around them, and over 3 s when the whole backlog started in one go)...
    expect(MAX_STARTS_PER_TURN).toBe(128)
    expect(maxGapMs, JSON.stringify({ maxGapMs, started })).toBeLessThan(1000)
    // ...while it did fall behind (about 1,000 starts/s of CPU for 3,000/s asked).
    expect(started).toBeGreaterThan(500)
    expect(started).toBeLessThan(3000 * 2.5 * 0.9)
  })
})
