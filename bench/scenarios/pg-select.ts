import { defineScenario, definePostgres, user, constant } from 'horde'

// pgbench's -S transaction: one indexed SELECT of a random account (scale from HORDE_BENCH_PG_SCALE).
const ACCOUNTS = 100_000 * Number(process.env.HORDE_BENCH_PG_SCALE ?? '10')
const CLIENTS = Number(process.env.HORDE_BENCH_PG_CLIENTS ?? '16')
const db = definePostgres({
  urlEnv: 'HORDE_BENCH_PG_URL',
  // bench/db-vs-pgbench.ts runs both: every statement parsed (pgbench -M extended) and prepared (-M prepared).
  prepare: process.env.HORDE_BENCH_PG_PREPARE === '1',
  // min = max: every connection opened at start and kept, as pgbench's clients are (and no idle timer is armed
  // on each release, which pg-pool does for connections above min).
  pool: { max: CLIENTS, min: CLIENTS, acquireTimeout: '10s' },
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
