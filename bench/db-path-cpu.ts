/**
 * CPU per query of the worker's database path, in process, against a raw pg.Pool loop doing the same SELECT:
 * the Horde users (UserPool, the task context, db.postgres, pool wait and query rows in the recorder) vs the
 * driver alone. Alternating rounds in one process against one throwaway PostgreSQL (server pinned to CPU 0, this
 * process to CPU 1). CPU µs per query is this process's own (process.cpuUsage), so a busy machine slows both
 * sides but hardly changes the figure; the ratio is Horde's overhead on top of pg.
 *
 *   npx tsx bench/db-path-cpu.ts [--rounds 5] [--seconds 4] [--clients 16] [--scale 1] [--prepare]
 *   node --cpu-prof --import tsx bench/db-path-cpu.ts --only horde   # where the worker's time goes
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { constant, user } from '../src/worker/scenario.js'
import { definePostgres } from '../src/worker/db/db-define.js'
import { makeDbWorker, takeRows } from '../test/helpers/db-worker.js'
import { startPostgres } from '../test/helpers/db-servers.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '4' },
    clients: { type: 'string', default: '16' },
    scale: { type: 'string', default: '1' },
    only: { type: 'string' },
    /** Horde with prepare: true (compare with the bare pool's prepared loop). */
    prepare: { type: 'boolean', default: false },
  },
})
const rounds = Number(values.rounds)
const seconds = Number(values.seconds)
const clients = Number(values.clients)
const accounts = 100_000 * Number(values.scale)
const SQL = 'SELECT abalance FROM pgbench_accounts WHERE aid = $1'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const bin = `/usr/lib/postgresql/${readdirSync('/usr/lib/postgresql').sort().at(-1)}/bin`

interface Round {
  queries: number
  cpuUsPerQuery: number
  queriesPerSec: number
}

async function measure(run: (stopAt: number) => Promise<number>): Promise<Round> {
  const cpu = process.cpuUsage()
  const started = performance.now()
  const queries = await run(started + seconds * 1000)
  const used = process.cpuUsage(cpu)
  const elapsedS = (performance.now() - started) / 1000
  return {
    queries,
    cpuUsPerQuery: +((used.user + used.system) / queries).toFixed(1),
    queriesPerSec: Math.round(queries / elapsedS),
  }
}

const server = await startPostgres()
try {
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(server.pid)], { stdio: 'ignore' })
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })
  execFileSync(`${bin}/pgbench`, ['-i', '-q', '-s', String(values.scale), server.url], { stdio: 'ignore' })

  /** `prepared`: a named statement, parsed once per connection (pgbench -M prepared) rather than every time. */
  const rawPg = (prepared = false) =>
    measure(async (stopAt) => {
      const pool = new pg.Pool({ connectionString: server.url, max: clients })
      let queries = 0
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (performance.now() < stopAt) {
            const values = [1 + Math.floor(Math.random() * accounts)]
            await pool.query(prepared ? { name: 'select', text: SQL, values } : { text: SQL, values })
            queries++
          }
        }),
      )
      await pool.end()
      return queries
    })

  // As bench/scenarios/pg-select.ts: all connections kept (min = max), like the bare pool's loop keeps them busy.
  const target = definePostgres({
    url: server.url,
    prepare: values.prepare === true,
    pool: { max: clients, min: clients, acquireTimeout: '10s' },
  })
  const horde = () =>
    measure(async (stopAt) => {
      const worker = makeDbWorker({
        Reader: user({
          wait: constant(0),
          tasks: {
            select: ({ db }) => db.postgres(target).query(SQL, [1 + Math.floor(Math.random() * accounts)]),
          },
        }),
      })
      try {
        worker.pool.setCounts({ Reader: clients }, 0)
        await sleep(stopAt - performance.now())
      } finally {
        await worker.stop()
      }
      const rows = takeRows(worker.stats)
      if (worker.exceptions.length > 0) throw new Error(worker.exceptions[0])
      return rows.get('SQL SELECT abalance FROM pgbench_accounts')?.numRequests ?? 0
    })

  const results: Array<{ round: number; pg?: Round; pgPrepared?: Round; horde?: Round; loadavg: string }> = []
  for (let round = 1; round <= rounds; round++) {
    const row: (typeof results)[number] = { round, loadavg: '' }
    if (values.only !== 'horde') row.pg = await rawPg()
    if (values.only !== 'horde') row.pgPrepared = await rawPg(true)
    if (values.only !== 'pg') row.horde = await horde()
    row.loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
    results.push(row)
    console.log(JSON.stringify(row))
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
  const pgCpu = median(results.map((r) => r.pg?.cpuUsPerQuery ?? NaN))
  const hordeCpu = median(results.map((r) => r.horde?.cpuUsPerQuery ?? NaN))
  console.log(
    JSON.stringify({
      clients,
      seconds,
      rounds,
      medianCpuUsPerQuery: {
        pg: pgCpu,
        pgPrepared: median(results.map((r) => r.pgPrepared?.cpuUsPerQuery ?? NaN)),
        horde: hordeCpu,
      },
      hordeOverPg: +(hordeCpu / pgCpu).toFixed(2),
      loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
    }),
  )
} finally {
  await server.stop()
}
