import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import mysql from 'mysql2/promise'
import type { MasterRunResult } from '../../src/master/result-builder.js'
import { REPO_ROOT, startProcess, stopProcess, type TestProcess } from '../helpers/processes.js'
import { startMariaDb, startPostgres, type DbServer } from '../helpers/db-servers.js'
import { find, renderRun, schemaErrors } from '../helpers/k8s-render.js'

const TEMPLATES = join(REPO_ROOT, 'templates')
// A broken copy must sit where `horde` resolves (the package itself), so next to the test scenarios.
const BROKEN = join(REPO_ROOT, `test/helpers/scenarios/.broken-bank-${process.pid}.ts`)

let postgres: DbServer
let mariadb: DbServer
let out: string
let run: TestProcess | undefined
beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'horde-bank-'))
  ;[postgres, mariadb] = await Promise.all([startPostgres(), startMariaDb()])
}, 90_000)
afterEach(async () => {
  await stopProcess(run)
  run = undefined
})
afterAll(async () => {
  rmSync(BROKEN, { force: true })
  await Promise.all([postgres?.stop(), mariadb?.stop()])
  rmSync(out, { recursive: true, force: true })
})

/** A short run of a template: 2 workers, a 1 s warm-up instead of the template's 10 s. */
function runTemplate(file: string, dir: string, url: string): TestProcess {
  return startProcess(
    process.execPath,
    [
      'bin/horde.js',
      'run',
      file,
      '--users',
      '8',
      '--spawn-rate',
      '8',
      '--warmup',
      '1s',
      '--duration',
      '5s',
      '--workers',
      '2',
      '--out',
      dir,
    ],
    { env: { BANK_DATABASE_URL: url } },
  )
}

function readResult(dir: string): MasterRunResult {
  return JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as MasterRunResult
}

describe('templates/postgres-bank.ts and templates/mysql-bank.ts (bank transfers, invariant in fin)', () => {
  it('postgres-bank: init loads the accounts once, transfers run, fin finds the sum of balances intact', async () => {
    const dir = join(out, 'pg')
    run = runTemplate(join(TEMPLATES, 'postgres-bank.ts'), dir, postgres.url)
    const code = await run.exited
    const result = readResult(dir)
    // Thresholds on latency may fail on a busy machine (99); the invariant and the phases may not.
    expect([0, 99], run.output()).toContain(code)
    expect(result.verdictReasons.join(' ')).not.toMatch(/fin|init/)
    const transfers = result.endpoints.find((e) => e.method === 'TX' && e.name === 'transfer')
    expect(transfers?.requests).toBeGreaterThan(20)
    expect(transfers?.failures).toBe(0)
    expect(result.endpoints.some((e) => e.method === 'POOL' && e.name === 'transfer pool wait')).toBe(true)
    const admin = new pg.Client({ connectionString: postgres.url })
    await admin.connect()
    try {
      const { rows } = await admin.query<{ s: string; n: string }>(
        'SELECT sum(balance) AS s, count(*) AS n FROM accounts',
      )
      expect([Number(rows[0]?.n), Number(rows[0]?.s)]).toEqual([1000, 1_000_000])
    } finally {
      await admin.end()
    }
  }, 120_000)

  it('postgres-bank with a deliberately broken transfer: fin catches the broken invariant and the run fails', async () => {
    const source = readFileSync(join(TEMPLATES, 'postgres-bank.ts'), 'utf8')
    const broken = source.replace('SET balance = balance + $2 WHERE', 'SET balance = balance + $2 + 1 WHERE')
    expect(broken).not.toBe(source)
    writeFileSync(BROKEN, broken)
    const dir = join(out, 'pg-broken')
    run = runTemplate(BROKEN, dir, postgres.url)
    const code = await run.exited
    expect(code, run.output()).toBe(99)
    const result = readResult(dir)
    expect(result.verdict).toBe('fail')
    expect(result.verdictReasons.join(' ')).toMatch(
      /The fin phase failed: fin failed on worker \d: invariant broken: the balances of 1000 accounts sum to \d+, expected 1000000/,
    )
  }, 120_000)

  it('mysql-bank on MariaDB: the same transfers, the invariant intact', async () => {
    const dir = join(out, 'my')
    // The password travels inside the URL from the environment, as the overlay's Secret gives it.
    const url = mariadb.url.replace('mysql://lt@', `mysql://lt:${mariadb.password}@`)
    run = runTemplate(join(TEMPLATES, 'mysql-bank.ts'), dir, url)
    const code = await run.exited
    const result = readResult(dir)
    expect([0, 99], run.output()).toContain(code)
    expect(result.verdictReasons.join(' ')).not.toMatch(/fin|init/)
    expect(result.endpoints.find((e) => e.method === 'TX' && e.name === 'transfer')?.failures).toBe(0)
    expect(JSON.stringify(result)).not.toContain(mariadb.password)
    const admin = await mysql.createConnection({ uri: mariadb.url, password: mariadb.password })
    try {
      const [rows] = await admin.query<mysql.RowDataPacket[]>(
        'SELECT sum(balance) AS s, count(*) AS n FROM accounts',
      )
      expect([Number(rows[0]?.n), Number(rows[0]?.s)]).toEqual([1000, 1_000_000])
    } finally {
      await admin.end()
    }
  }, 120_000)

  it.each(['postgres-bank', 'mysql-bank'])(
    'the %s overlay gives workers BANK_DATABASE_URL from a Secret, and renders valid',
    async (overlay) => {
      const rendered = await renderRun([
        'scenarios/demo.ts',
        '--pods',
        '2',
        '--users',
        '10',
        '--duration',
        '1m',
        '--image',
        `ghcr.io/acme/horde@sha256:${'a'.repeat(64)}`,
        '--overlay',
        overlay,
      ])
      expect(rendered.code, rendered.stderr).toBe(0)
      expect(schemaErrors(rendered.objects)).toEqual([])
      const worker = find(rendered.objects, 'Job', 'horde-worker')
      const spec = worker.spec as {
        template: { spec: { containers: Array<{ env: Array<{ name: string; valueFrom?: unknown }> }> } }
      }
      const env = spec.template.spec.containers[0]?.env.find((e) => e.name === 'BANK_DATABASE_URL')
      expect(env?.valueFrom).toEqual({ secretKeyRef: { name: `${overlay}-database`, key: 'url' } })
      const master = find(rendered.objects, 'Job', 'horde-master')
      expect(JSON.stringify(master)).not.toContain('BANK_DATABASE_URL')
    },
    60_000,
  )

  it('each template starts with a one-line description (horde new lists it)', () => {
    for (const file of ['postgres-bank.ts', 'mysql-bank.ts']) {
      const first = readFileSync(join(TEMPLATES, file), 'utf8').split('\n')[0] ?? ''
      expect(first).toMatch(
        /^\/\/ (PostgreSQL|MySQL \/ MariaDB) bank-account transfers .*fin checks the sum of balances\.$/,
      )
    }
  })
})
