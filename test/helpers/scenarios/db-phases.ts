import { defineScenario, definePostgres, user, constant } from 'horde'

const db = definePostgres({ urlEnv: 'HORDE_TEST_PG_URL', pool: { max: 2 } })

/** init on every agent (staggered, so a missing barrier would show), work in run, one fin that checks. */
export default defineScenario({
  name: 'db-phases',
  initPerAgent: true,
  init: async ({ db: d, agentId, agents }) => {
    if (process.env.HORDE_TEST_INIT_DIE === String(agentId)) process.kill(process.pid, 'SIGKILL')
    const pg = d.postgres(db)
    await pg.query('SELECT pg_sleep($1::float8)', [0.4 * agentId])
    await pg.query(
      'INSERT INTO init_log (agent_id, agents, finished_at) VALUES ($1, $2, clock_timestamp())',
      [agentId, agents],
    )
  },
  users: {
    Worker: user({
      wait: constant('50ms'),
      tasks: {
        work: ({ db: d }) => d.postgres(db).query('INSERT INTO work (at) VALUES (clock_timestamp())'),
      },
    }),
  },
  fin: async ({ db: d, agentId }) => {
    // Longer than two heartbeat intervals: the master must keep the worker through fin, not answer its
    // heartbeats with quit because the run is stopping (the fin barrier then failed: "lost during fin").
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const pg = d.postgres(db)
    await pg.query('INSERT INTO fin_log (agent_id, at) VALUES ($1, clock_timestamp())', [agentId])
    const { rows } = await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM work')
    if (process.env.HORDE_TEST_FIN_FAIL === '1')
      throw new Error(`invariant broken: ${rows[0]?.n} rows of work`)
  },
})
