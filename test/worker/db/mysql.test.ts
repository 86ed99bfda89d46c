import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import mysql from 'mysql2/promise'
import { constant, task, user } from '../../../src/worker/scenario.js'
import { defineMysql } from '../../../src/worker/db/db-define.js'
import { startMariaDb, type DbServer } from '../../helpers/db-servers.js'
import { makeDbWorker, stopDbWorkers, takeRows } from '../../helpers/db-worker.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const PASSWORD_ENV = 'HORDE_TEST_MYSQL_PASSWORD'

let server: DbServer
let admin: mysql.Connection
beforeAll(async () => {
  server = await startMariaDb()
  // The password reaches Horde as a Secret would: through an environment variable named in the options.
  process.env[PASSWORD_ENV] = server.password
  admin = await mysql.createConnection({ uri: server.url, password: server.password })
  await admin.query('CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL) ENGINE=InnoDB')
  await admin.query('INSERT INTO accounts SELECT seq, 1000 FROM seq_1_to_100')
}, 60_000)
afterAll(async () => {
  delete process.env[PASSWORD_ENV]
  await admin?.end().catch(() => undefined)
  await server?.stop()
})
afterEach(stopDbWorkers)

/** The server's own statement counters (session-independent). */
async function status(): Promise<Record<string, number>> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_select', 'Com_update', 'Com_commit', 'Com_begin')",
  )
  return Object.fromEntries(rows.map((r) => [String(r.Variable_name), Number(r.Value)]))
}

describe('db.mysql on a real MariaDB', () => {
  it('records every query and transaction the server counted (Com_select, Com_update, Com_commit)', async () => {
    const bank = defineMysql({ url: server.url, passwordEnv: PASSWORD_ENV, pool: { max: 5 } })
    const worker = makeDbWorker({
      Teller: user({
        wait: constant(0),
        tasks: {
          balance: task(3, async ({ db }) => {
            await db
              .mysql(bank)
              .query('SELECT balance FROM accounts WHERE id = ?', [1 + Math.floor(Math.random() * 100)])
          }),
          transfer: task(1, async ({ db }) => {
            await db.mysql(bank).tx('transfer', async (q) => {
              await q.query('UPDATE accounts SET balance = balance - 1 WHERE id = ?', [1], { name: 'debit' })
              await q.query('UPDATE accounts SET balance = balance + 1 WHERE id = ?', [2], { name: 'credit' })
            })
          }),
        },
      }),
    })
    const before = await status()
    worker.pool.setCounts({ Teller: 20 }, 0)
    await sleep(1500)
    await worker.stop()
    const after = await status()
    const recorded = takeRows(worker.stats)
    expect(worker.exceptions).toEqual([])
    const selects = recorded.get('SQL SELECT balance FROM accounts')?.numRequests ?? 0
    const transfers = recorded.get('TX transfer')?.numRequests ?? 0
    expect(selects).toBeGreaterThan(50)
    expect(transfers).toBeGreaterThan(10)
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0)
    expect(selects).toBe(delta('Com_select'))
    expect(
      (recorded.get('SQL debit')?.numRequests ?? 0) + (recorded.get('SQL credit')?.numRequests ?? 0),
    ).toBe(delta('Com_update'))
    expect(transfers).toBe(delta('Com_commit'))
    expect(recorded.get('POOL transfer pool wait')?.numRequests).toBe(transfers)
    const [sum] = await admin.query<mysql.RowDataPacket[]>('SELECT sum(balance) AS s FROM accounts')
    expect(Number(sum[0]?.s)).toBe(100_000)
  })

  it('2,000 users against pool max 20 never open more than 20 connections (server processlist)', async () => {
    const db = defineMysql({
      url: server.url,
      passwordEnv: PASSWORD_ENV,
      pool: { max: 20, acquireTimeout: '30s' },
    })
    const worker = makeDbWorker({
      Crowd: user({
        wait: constant(0),
        tasks: { nap: async ({ db: d }) => d.mysql(db).query('SELECT SLEEP(0.005)') },
      }),
    })
    let most = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        // Our admin connection is 'lt' too: subtract it.
        const [r] = await admin.query<mysql.RowDataPacket[]>(
          "SELECT count(*) - 1 AS n FROM information_schema.PROCESSLIST WHERE USER = 'lt'",
        )
        most = Math.max(most, Number(r[0]?.n))
        await sleep(50)
      }
    })()
    worker.pool.setCounts({ Crowd: 2000 }, 0)
    await sleep(2500)
    sampling = false
    await sampler
    await worker.stop()
    expect(most).toBe(20)
    const recorded = worker.stats.takeDelta().entries
    expect(recorded.find((e) => e.name === 'SELECT SLEEP(?) pool wait')?.numRequests).toBeGreaterThan(100)
  }, 30_000)

  it('a password variable that is not set fails the query naming the variable, never a value', async () => {
    const db = defineMysql({ url: server.url, passwordEnv: 'HORDE_TEST_UNSET_PASSWORD', pool: { max: 2 } })
    const worker = makeDbWorker({
      Lost: user({
        wait: constant('100ms'),
        tasks: { q: async ({ db: d }) => d.mysql(db).query('SELECT 1') },
      }),
    })
    worker.pool.setCounts({ Lost: 1 }, 0)
    await sleep(300)
    await worker.stop()
    expect(worker.exceptions.join('\n')).toMatch(
      /passwordEnv names the environment variable "HORDE_TEST_UNSET_PASSWORD", which is not set on this worker/,
    )
    expect(worker.exceptions.join('\n')).not.toContain(server.password)
  })

  it('prepare: true runs parameterised statements as prepared statements (Com_stmt_prepare, Com_stmt_execute)', async () => {
    const bank = defineMysql({ url: server.url, passwordEnv: PASSWORD_ENV, prepare: true, pool: { max: 3 } })
    const counters = async () => {
      const [rows] = await admin.query<mysql.RowDataPacket[]>(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_stmt_prepare', 'Com_stmt_execute')",
      )
      return Object.fromEntries(rows.map((r) => [String(r.Variable_name), Number(r.Value)]))
    }
    const worker = makeDbWorker({
      Teller: user({
        wait: constant(0),
        tasks: {
          balance: task(1, ({ db }) =>
            db
              .mysql(bank)
              .query('SELECT balance FROM accounts WHERE id = ?', [1 + Math.floor(Math.random() * 100)]),
          ),
        },
      }),
    })
    const before = await counters()
    worker.pool.setCounts({ Teller: 6 }, 0)
    await sleep(1000)
    await worker.stop()
    const after = await counters()
    expect(worker.exceptions).toEqual([])
    const selects = takeRows(worker.stats).get('SQL SELECT balance FROM accounts')?.numRequests ?? 0
    expect(selects).toBeGreaterThan(10)
    expect((after.Com_stmt_execute ?? 0) - (before.Com_stmt_execute ?? 0)).toBe(selects)
    // Prepared once per connection (3 at most), not per query.
    expect((after.Com_stmt_prepare ?? 0) - (before.Com_stmt_prepare ?? 0)).toBeLessThanOrEqual(3)
  }, 30_000)
})
