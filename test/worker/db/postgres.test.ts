import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { constant, task, user } from '../../../src/worker/scenario.js'
import { definePostgres } from '../../../src/worker/db/db-define.js'
import { startPostgres, type DbServer } from '../../helpers/db-servers.js'
import { makeDbWorker, stopDbWorkers, takeRows } from '../../helpers/db-worker.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let server: DbServer
let admin: pg.Client
beforeAll(async () => {
  server = await startPostgres()
  admin = new pg.Client({ connectionString: server.url, application_name: 'admin' })
  await admin.connect()
  await admin.query('CREATE EXTENSION pg_stat_statements')
  await admin.query('CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)')
  await admin.query('INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 100) g')
}, 60_000)
afterAll(async () => {
  await admin?.end().catch(() => undefined)
  await server?.stop()
})
afterEach(stopDbWorkers)

async function serverCalls(pattern: string): Promise<number> {
  const r = await admin.query<{ calls: string }>(
    'SELECT coalesce(sum(calls), 0) AS calls FROM pg_stat_statements WHERE query LIKE $1',
    [pattern],
  )
  return Number(r.rows[0]?.calls)
}

describe('db.postgres on a real PostgreSQL', () => {
  it('records every query and transaction the server ran, with pool wait as its own row', async () => {
    const bank = definePostgres({ url: server.url, pool: { max: 5, acquireTimeout: '5s' } })
    await admin.query('SELECT pg_stat_statements_reset()')
    const worker = makeDbWorker({
      Teller: user({
        wait: constant(0),
        tasks: {
          // Destructured context, as scenarios write it.
          balance: task(3, async ({ db }) => {
            await db
              .postgres(bank)
              .query('SELECT balance FROM accounts WHERE id = $1', [1 + Math.floor(Math.random() * 100)])
          }),
          transfer: task(1, async ({ db }) => {
            await db.postgres(bank).tx('transfer', async (q) => {
              await q.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [1])
              await q.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [2], {
                name: 'credit',
              })
            })
          }),
        },
      }),
    })
    worker.pool.setCounts({ Teller: 20 }, 0)
    await sleep(1500)
    await worker.stop()
    const recorded = takeRows(worker.stats)
    expect(worker.exceptions).toEqual([])
    const selects = recorded.get('SQL SELECT balance FROM accounts')
    const debits = recorded.get('SQL UPDATE accounts SET balance')
    const credits = recorded.get('SQL credit')
    const transfers = recorded.get('TX transfer')
    expect(selects?.numRequests).toBeGreaterThan(50)
    expect(transfers?.numRequests).toBeGreaterThan(10)
    expect(selects?.numFailures).toBe(0)
    expect(transfers?.numFailures).toBe(0)
    expect(selects?.numRequests).toBe(await serverCalls('SELECT balance FROM accounts%'))
    expect(debits?.numRequests).toBe(await serverCalls('UPDATE accounts SET balance = balance - %'))
    expect(credits?.numRequests).toBe(await serverCalls('UPDATE accounts SET balance = balance + %'))
    expect(transfers?.numRequests).toBe(await serverCalls('COMMIT'))
    // One pool wait per pooled query or transaction (queries inside a transaction use its connection).
    expect(recorded.get('POOL SELECT balance FROM accounts pool wait')?.numRequests).toBe(
      selects?.numRequests,
    )
    expect(recorded.get('POOL transfer pool wait')?.numRequests).toBe(transfers?.numRequests)
    const sum = await admin.query<{ s: string }>('SELECT sum(balance) AS s FROM accounts')
    expect(Number(sum.rows[0]?.s)).toBe(100 * 1000)
  })

  it('2,000 users against pool max 20 never open more than 20 connections (counted by the server)', async () => {
    const db = definePostgres({ url: server.url, pool: { max: 20, acquireTimeout: '30s' } })
    const worker = makeDbWorker({
      Crowd: user({
        wait: constant(0),
        tasks: { nap: async ({ db: d }) => d.postgres(db).query('SELECT pg_sleep(0.005)') },
      }),
    })
    let most = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        const r = await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'horde'",
        )
        most = Math.max(most, r.rows[0]?.n ?? 0)
        await sleep(50)
      }
    })()
    worker.pool.setCounts({ Crowd: 2000 }, 0)
    await sleep(2500)
    sampling = false
    await sampler
    await worker.stop()
    const recorded = takeRows(worker.stats)
    expect(most).toBe(20)
    const wait = recorded.get('POOL SELECT pg_sleep(?) pool wait')
    expect(wait?.numRequests).toBeGreaterThan(100)
    // 2,000 users share 20 connections: the typical query waited for one, and that wait is visible as such.
    expect((wait?.totalResponseTime ?? 0) / (wait?.numRequests ?? 1)).toBeGreaterThan(
      (recorded.get('SQL SELECT pg_sleep(?)')?.totalResponseTime ?? 0) /
        (recorded.get('SQL SELECT pg_sleep(?)')?.numRequests ?? 1),
    )
    // Closed at stop: the server ends a backend shortly after its client hangs up, so poll (bounded).
    let left = -1
    for (let i = 0; i < 40 && left !== 0; i++) {
      const after = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'horde'",
      )
      left = after.rows[0]?.n ?? -1
      if (left !== 0) await sleep(50)
    }
    expect(left).toBe(0)
  }, 30_000)

  it('a pool wait past acquireTimeout fails the query with the fix; a bad statement is a recorded failure', async () => {
    // Two users share a pool of one connection held 0.5 s per query: one of them always waits past 200 ms. The bad
    // statement runs in its own class and pool, so it is never the one that times out (or never picked) by chance.
    const db = definePostgres({ url: server.url, pool: { max: 1, acquireTimeout: '200ms' } })
    const spare = definePostgres({ url: server.url, pool: { max: 1, acquireTimeout: '10s' } })
    const worker = makeDbWorker({
      Slow: user({
        wait: constant(0),
        tasks: { hold: async ({ db: d }) => d.postgres(db).query('SELECT pg_sleep(0.5)') },
      }),
      Typo: user({
        wait: constant('200ms'),
        tasks: { typo: async ({ db: d }) => d.postgres(spare).query('SELEC 1', [], { name: 'typo' }) },
      }),
    })
    worker.pool.setCounts({ Slow: 2, Typo: 1 }, 0)
    await sleep(1200)
    await worker.stop()
    const delta = worker.stats.takeDelta()
    const timeouts = [...delta.errors.values()].find((e) => e.name === 'SELECT pg_sleep(?) pool wait')
    expect(timeouts?.error).toMatch(
      /waited 200 ms for a free connection \(pool max 1 per worker\): raise pool.max/,
    )
    expect(timeouts?.occurrences).toBeGreaterThan(0)
    const typo = [...delta.errors.values()].find((e) => e.name === 'typo')
    expect(typo?.error).toMatch(/syntax error at or near "SELEC"/)
    // Failures recorded by the client are not reported again as task exceptions.
    expect(worker.exceptions).toEqual([])
  })

  it('prepare: true parses each statement once per connection; the server counts the same queries', async () => {
    const bank = definePostgres({ url: server.url, prepare: true, pool: { max: 3 } })
    await admin.query('SELECT pg_stat_statements_reset()')
    const prepared: string[][] = []
    const worker = makeDbWorker({
      Teller: user({
        wait: constant(0),
        tasks: {
          balance: task(5, ({ db }) =>
            db
              .postgres(bank)
              .query('SELECT balance FROM accounts WHERE id = $1', [1 + Math.floor(Math.random() * 100)]),
          ),
          // On one connection: what this session has prepared (pg_prepared_statements is per session).
          check: task(1, ({ db }) =>
            db.postgres(bank).tx('check', async (q) => {
              await q.query('SELECT balance FROM accounts WHERE id = $1', [1])
              const r = await q.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements')
              prepared.push(r.rows.map((row) => row.statement))
            }),
          ),
        },
      }),
    })
    worker.pool.setCounts({ Teller: 6 }, 0)
    await sleep(1000)
    await worker.stop()
    const recorded = takeRows(worker.stats)
    expect(worker.exceptions).toEqual([])
    expect(prepared.length).toBeGreaterThan(0)
    // The parameterised SELECT is a named statement on the connection; the unparameterised one is not prepared.
    for (const statements of prepared) {
      expect(statements).toEqual(['SELECT balance FROM accounts WHERE id = $1'])
    }
    const selects = recorded.get('SQL SELECT balance FROM accounts')?.numRequests ?? 0
    expect(selects).toBeGreaterThan(10)
    expect(await serverCalls('SELECT balance FROM accounts WHERE id = $1')).toBe(selects)
  }, 30_000)
})
