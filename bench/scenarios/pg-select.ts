import { defineScenario, definePostgres, user, constant } from 'horde'

// pgbench's -S transaction: one indexed SELECT of a random account (scale from HORDE_BENCH_PG_SCALE).
const ACCOUNTS = 100_000 * Number(process.env.HORDE_BENCH_PG_SCALE ?? '10')
const db = definePostgres({
  urlEnv: 'HORDE_BENCH_PG_URL',
  // bench/db-vs-pgbench.ts runs both: every statement parsed (pgbench -M extended) and prepared (-M prepared).
  prepare: process.env.HORDE_BENCH_PG_PREPARE === '1',
  pool: { max: Number(process.env.HORDE_BENCH_PG_CLIENTS ?? '16'), min: 0, acquireTimeout: '10s' },
})

export default defineScenario({
  name: 'pg-select',
  users: {
    Reader: user({
      wait: constant(0),
      tasks: {
        select: ({ db: d }) =>
          d
            .postgres(db)
            .query('SELECT abalance FROM pgbench_accounts WHERE aid = $1', [
              1 + Math.floor(Math.random() * ACCOUNTS),
            ]),
      },
    }),
  },
})
