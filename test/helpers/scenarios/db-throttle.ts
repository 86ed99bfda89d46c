import { defineScenario, definePostgres, user, constant } from 'horde'

const db = definePostgres({ urlEnv: 'HORDE_TEST_PG_URL', pool: { max: 4 } })

/** Users with no wait that would do thousands of tasks/s: the throttle caps the whole run at 40/s. */
export default defineScenario({
  name: 'db-throttle',
  throttle: 40,
  users: {
    Teller: user({
      wait: constant(0), // JdbcRunner's sleep time between transactions: 0 here, the throttle is the cap
      tasks: {
        transfer: ({ db: d }) =>
          d.postgres(db).tx('transfer', async (q) => {
            await q.query('INSERT INTO ledger (at) VALUES (clock_timestamp())')
          }),
      },
    }),
  },
})
