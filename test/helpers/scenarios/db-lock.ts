import { defineScenario, definePostgres, user, constant } from 'horde'

// The URL comes from the environment, as a team's Secret would provide it.
const bank = definePostgres({
  urlEnv: 'HORDE_TEST_PG_URL',
  pool: { max: 10, min: 0, acquireTimeout: '10s', idleTimeout: '30s', statementTimeout: '10s' },
})

export default defineScenario({
  name: 'db-lock',
  users: {
    Teller: user({
      wait: constant('20ms'),
      tasks: {
        balance: ({ db }) => db.postgres(bank).query('SELECT balance FROM accounts WHERE id = $1', [1]),
      },
    }),
  },
})
