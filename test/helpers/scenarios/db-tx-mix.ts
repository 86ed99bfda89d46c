import { defineScenario, definePostgres, user, task, constant } from 'horde'

// Two transaction types, one three times as frequent as the other, for the per-type progress line and report.
const bank = definePostgres({
  urlEnv: 'HORDE_TEST_PG_URL',
  pool: { max: 4, min: 0, acquireTimeout: '10s', idleTimeout: '30s', statementTimeout: '10s' },
})

export default defineScenario({
  name: 'db-tx-mix',
  users: {
    Teller: user({
      wait: constant('10ms'),
      tasks: {
        transfer: task(3, ({ db }) =>
          db.postgres(bank).tx('transfer', async (q) => {
            const from = 1 + Math.floor(Math.random() * 100)
            const to = 1 + Math.floor(Math.random() * 100)
            await q.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [from])
            await q.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [to])
          }),
        ),
        audit: task(1, ({ db }) =>
          db.postgres(bank).tx('audit', (q) => q.query('SELECT sum(balance) FROM accounts')),
        ),
      },
    }),
  },
})
