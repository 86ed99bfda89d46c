import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { HttpTransport } from '../../src/worker/http/http-client.js'
import { RequestStats } from '../../src/worker/stats.js'
import { UserPool } from '../../src/worker/user-pool.js'
import { UserClass } from '../../src/worker/user-runner.js'
import { StopUser, constant, constantPacing, task, user } from '../../src/worker/scenario.js'
import type { ScenarioOptions } from '../../src/worker/scenario-types.js'
import { startTargetServer, type TargetServer } from '../helpers/target-server.js'

let target: TargetServer
beforeAll(async () => {
  target = await startTargetServer()
})
afterAll(async () => {
  await target.close()
})

const silent = pino({ level: 'silent' })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function makePool(users: ScenarioOptions['users']) {
  const transport = new HttpTransport({
    baseUrl: target.url,
    keepAlive: true,
    connections: null,
    timeoutMs: 5000,
    headers: {},
  })
  const stats = new RequestStats()
  const exceptions: string[] = []
  const classes = new Map(Object.entries(users).map(([n, d]) => [n, new UserClass(n, d)]))
  const pool = new UserPool(
    classes,
    transport,
    stats,
    silent,
    () => 7,
    (_c, e) => exceptions.push(String(e)),
  )
  return { pool, stats, exceptions, transport }
}

describe('UserPool', () => {
  it('applies absolute per-class targets: starts the difference, stops the surplus', async () => {
    const { pool, transport } = makePool({
      A: user({ wait: constant('50ms'), tasks: { t: () => undefined } }),
      B: user({ wait: constant('50ms'), tasks: { t: () => undefined } }),
    })
    pool.setCounts({ A: 3, B: 1 }, 0)
    expect(pool.counts()).toEqual({ A: 3, B: 1 })
    pool.setCounts({ A: 1, B: 2 }, 0)
    expect(pool.counts()).toEqual({ A: 1, B: 2 })
    expect(pool.userCount).toBe(3)
    await pool.stopAll(0)
    expect(pool.userCount).toBe(0)
    await transport.close()
  })

  it('picks tasks by weight and gives tasks the context they need', async () => {
    const seen = { light: 0, heavy: 0 }
    let workerIndex = -1
    const { pool, transport } = makePool({
      U: user({
        wait: constant(0),
        tasks: {
          light: task(1, () => {
            seen.light++
          }),
          heavy: task(4, (ctx) => {
            seen.heavy++
            workerIndex = ctx.workerIndex
          }),
        },
      }),
    })
    pool.setCounts({ U: 2 }, 0)
    await sleep(100)
    await pool.stopAll(0)
    const total = seen.light + seen.heavy
    expect(total).toBeGreaterThan(1000)
    expect(seen.heavy / total).toBeGreaterThan(0.75)
    expect(seen.heavy / total).toBeLessThan(0.85)
    expect(workerIndex).toBe(7)
    await transport.close()
  })

  it('runs a sequence in order with per-user typed state, onStart before and onStop after', async () => {
    const log: string[] = []
    const { pool, transport } = makePool({
      Flow: user({
        state: () => ({ step: 0, token: '' }),
        wait: constant('5ms'),
        onStart: ({ state }) => {
          state.token = 'T'
          log.push('start')
        },
        sequence: [
          ({ state }) => log.push(`a${state.token}${state.step++}`),
          ({ state }) => log.push(`b${state.step++}`),
        ],
        onStop: () => {
          log.push('stop')
        },
      }),
    })
    pool.setCounts({ Flow: 1 }, 0)
    await sleep(40)
    await pool.stopAll(1000)
    expect(log[0]).toBe('start')
    expect(log.slice(1, 5)).toEqual(['aT0', 'b1', 'aT2', 'b3'])
    expect(log.at(-1)).toBe('stop')
    await transport.close()
  })

  it('ends a user on StopUser, reports other throws as exceptions and keeps the user going', async () => {
    let calls = 0
    const { pool, exceptions, transport } = makePool({
      Quitter: user({
        wait: constant('1ms'),
        tasks: {
          t: () => {
            calls++
            if (calls === 3) throw new StopUser()
            throw new Error(`boom ${calls}`)
          },
        },
      }),
    })
    pool.setCounts({ Quitter: 1 }, 0)
    await sleep(50)
    expect(calls).toBe(3)
    expect(exceptions).toEqual(['Error: boom 1', 'Error: boom 2'])
    await pool.stopAll(0)
    await transport.close()
  })

  it('paces tasks with constantPacing whatever the task takes', async () => {
    const starts: number[] = []
    const { pool, transport } = makePool({
      Paced: user({
        wait: constantPacing('100ms'),
        tasks: {
          t: async ({ http }) => {
            starts.push(performance.now())
            await http.get('/delay/30')
          },
        },
      }),
    })
    pool.setCounts({ Paced: 1 }, 0)
    await sleep(460)
    await pool.stopAll(0)
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] as number))
    expect(gaps.length).toBeGreaterThanOrEqual(3)
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(90)
      expect(gap).toBeLessThan(130)
    }
    await transport.close()
  })

  it('stops gracefully within stop_timeout: the running task finishes, and is cut once the timeout passes', async () => {
    const finished: string[] = []
    const { pool, stats, transport } = makePool({
      Slow: user({
        wait: constant(0),
        tasks: {
          t: async ({ http }) => {
            await http.get('/delay/150')
            finished.push('done')
          },
        },
      }),
    })
    pool.setCounts({ Slow: 2 }, 0)
    await sleep(50)
    // A graceful stop waits for the in-flight requests (150 ms at the target), not for its whole timeout: with
    // a 30 s timeout, a stop that waited for it could not come in under 10 s, whatever the machine's load.
    const t0 = performance.now()
    await pool.stopAll(30_000)
    expect(performance.now() - t0).toBeLessThan(10_000)
    expect(finished).toEqual(['done', 'done'])
    expect(stats.takeDelta().statsTotal.numRequests).toBe(2)

    pool.setCounts({ Slow: 1 }, 0)
    await sleep(20)
    const t1 = performance.now()
    await pool.stopAll(0)
    // Hard stop: the task ends as soon as its request completes, without running the rest of the task (the
    // deterministic part: `finished` is unchanged). The bound is a sanity margin, not a latency goal.
    expect(performance.now() - t1).toBeLessThan(10_000)
    expect(finished).toEqual(['done', 'done'])
    await transport.close()
  })

  it('serves class names it does not know with its own classes instead of crashing', async () => {
    const { pool, transport } = makePool({
      Known: user({ wait: constant('50ms'), tasks: { t: () => undefined } }),
    })
    pool.setCounts({ PythonName: 2 }, 0)
    expect(pool.counts()).toEqual({ Known: 0, PythonName: 2 })
    await pool.stopAll(0)
    await transport.close()
  })

  it('a CPU-only task loop does not starve timers', async () => {
    const { pool, transport } = makePool({ Spin: user({ tasks: { t: () => undefined } }) })
    pool.setCounts({ Spin: 4 }, 0)
    // Starved timers would never fire (the test would time out); a 20 ms sleep that returns at all proves the
    // loop yields. The bound is a sanity margin for a shared machine, not a latency goal.
    const t0 = performance.now()
    await sleep(20)
    expect(performance.now() - t0).toBeLessThan(5000)
    await pool.stopAll(0)
    await transport.close()
  })
})
