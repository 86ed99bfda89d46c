import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import pg from 'pg'
import type { MasterRunResult } from '../../../src/master/result-builder.js'
import { startProcess, stopProcess, type TestProcess } from '../../helpers/processes.js'
import { startPostgres, type DbServer } from '../../helpers/db-servers.js'

const SCENARIO = join(import.meta.dirname, '../../helpers/scenarios/db-phases.ts')

let server: DbServer
let admin: pg.Client
let out: string
let run: TestProcess | undefined
beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'horde-db-phases-'))
  server = await startPostgres()
  admin = new pg.Client({ connectionString: server.url, application_name: 'admin' })
  await admin.connect()
  await admin.query('CREATE TABLE init_log (agent_id int, agents int, finished_at timestamptz)')
  await admin.query('CREATE TABLE work (at timestamptz)')
  await admin.query('CREATE TABLE fin_log (agent_id int, at timestamptz)')
}, 60_000)
beforeEach(async () => {
  await admin.query('TRUNCATE init_log, work, fin_log')
})
afterEach(async () => {
  await stopProcess(run)
  run = undefined
})
afterAll(async () => {
  await admin?.end().catch(() => undefined)
  await server?.stop()
  rmSync(out, { recursive: true, force: true })
})

function hordeRun(dir: string, env: NodeJS.ProcessEnv = {}): TestProcess {
  return startProcess(
    process.execPath,
    [
      'bin/horde.js',
      'run',
      SCENARIO,
      '--users',
      '6',
      '--spawn-rate',
      '6',
      '--duration',
      '3s',
      '--workers',
      '3',
      '--out',
      dir,
      '--host',
      `http://127.0.0.1:${server.port}`,
    ],
    { env: { HORDE_TEST_PG_URL: server.url, ...env } },
  )
}

async function one<T>(sql: string): Promise<T> {
  return (await admin.query(sql)).rows[0] as T
}

describe('init / run / fin across 3 workers (master barriers)', () => {
  it('init runs on each agent before any user starts anywhere; fin runs once after every user stopped', async () => {
    const dir = join(out, 'pass')
    run = hordeRun(dir)
    const code = await run.exited
    expect(code, run.output()).toBe(0)
    const agents = await admin.query<{ agent_id: number; agents: number }>(
      'SELECT agent_id, agents FROM init_log ORDER BY agent_id',
    )
    expect(agents.rows).toEqual([0, 1, 2].map((agent_id) => ({ agent_id, agents: 3 })))
    const order = await one<{
      init_end: Date
      first_work: Date
      last_work: Date
      fin_at: Date
      fins: number
      works: number
    }>(
      `SELECT (SELECT max(finished_at) FROM init_log) AS init_end, (SELECT min(at) FROM work) AS first_work,
              (SELECT max(at) FROM work) AS last_work, (SELECT max(at) FROM fin_log) AS fin_at,
              (SELECT count(*)::int FROM fin_log) AS fins, (SELECT count(*)::int FROM work) AS works`,
    )
    expect(order.works).toBeGreaterThan(20)
    // The barrier: agent 2's init ended ~0.8 s after agent 0's, and still no user of any worker started before it.
    expect(order.first_work.getTime()).toBeGreaterThan(order.init_end.getTime())
    expect(order.fins).toBe(1)
    expect(order.fin_at.getTime()).toBeGreaterThan(order.last_work.getTime())
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.verdict).toBe('pass')
    // Phase queries stay out of the results: only the users' work is counted, and the server saw exactly that.
    expect(result.endpoints.find((e) => e.method === 'SQL')?.name).toBe('INSERT INTO work (at)')
    expect(result.endpoints.filter((e) => e.method === 'SQL').map((e) => e.requests)).toEqual([order.works])
  }, 90_000)

  it('a throw in fin makes the run fail with its message (exit 99)', async () => {
    const dir = join(out, 'fin-fail')
    run = hordeRun(dir, { HORDE_TEST_FIN_FAIL: '1' })
    const code = await run.exited
    expect(code, run.output()).toBe(99)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.verdict).toBe('fail')
    expect(result.verdictReasons.join(' ')).toMatch(
      /The fin phase failed: fin failed on worker \d: invariant broken: \d+ rows of work/,
    )
    expect(result.events.some((e) => e.kind === 'phase-failed')).toBe(true)
  }, 90_000)

  it('a worker dying in init makes the run invalid with the reason, and no load runs', async () => {
    const dir = join(out, 'init-die')
    run = hordeRun(dir, { HORDE_TEST_INIT_DIE: '1' })
    const code = await run.exited
    expect(code, run.output()).toBe(106)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
    expect(result.verdict).toBe('invalid')
    expect(result.verdictReasons.join(' ')).toMatch(/worker 1|local worker/)
    expect((await one<{ n: number }>('SELECT count(*)::int AS n FROM work')).n).toBe(0)
  }, 90_000)
})
