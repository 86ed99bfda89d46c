import { defineScenario, definePostgres, user } from 'horde'

// Deliberately wrong: a password in the URL and a pool of 0 connections.
const db = definePostgres({ url: 'postgres://app:hunter2@127.0.0.1:5432/app', pool: { max: 0 } })

export default defineScenario({
  name: 'db-bad-options',
  users: { A: user({ tasks: { q: ({ db: d }) => d.postgres(db).query('SELECT 1') } }) },
})
