import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defineMysql, definePostgres } from '../../../src/worker/db/db-define.js'
import { queryName } from '../../../src/worker/db/query-name.js'
import { startProcess } from '../../helpers/processes.js'

const BAD = join(import.meta.dirname, '../../helpers/scenarios/db-bad-options.ts')

describe('database options', () => {
  it('are frozen with explicit pool settings and durations in ms', () => {
    const db = definePostgres({
      urlEnv: 'BANK_URL',
      pool: { max: 20, min: 2, acquireTimeout: '5s', idleTimeout: '1m', statementTimeout: '0s' },
    })
    expect(db).toMatchObject({
      driver: 'postgres',
      urlEnv: 'BANK_URL',
      maxConnections: 20,
      minConnections: 2,
      acquireTimeoutMs: 5000,
      idleTimeoutMs: 60_000,
      statementTimeoutMs: 0,
      prepare: false,
    })
    expect(Object.isFrozen(db)).toBe(true)
    expect(definePostgres({ urlEnv: 'BANK_URL', prepare: true }).prepare).toBe(true)
    expect(defineMysql('mysql://app@127.0.0.1:3306/app')).toMatchObject({
      driver: 'mysql',
      maxConnections: 10,
    })
  })

  it('name the field, the value and the fix, and never show a password', () => {
    const attempt = (f: () => unknown) => {
      try {
        f()
      } catch (error) {
        return error as Error & { code: string }
      }
      throw new Error('expected an error')
    }
    const leaked = attempt(() => definePostgres('postgres://app:hunter2@db:5432/app'))
    expect(leaked.code).toBe('HORDE_ERR_SCENARIO_DB_OPTIONS')
    expect(leaked.message).toMatch(
      /definePostgres\(\.\.\.\)\.url must not carry a password: put the URL in an environment variable \(urlEnv\)/,
    )
    expect(leaked.message).toContain('"postgres://[redacted]@db:5432/app"')
    expect(leaked.message).not.toContain('hunter2')
    expect(attempt(() => definePostgres({ urlEnv: 'X', pool: { max: -1 } })).message).toMatch(
      /definePostgres\(\.\.\.\)\.pool\.max must be a positive integer, received -1\./,
    )
    expect(attempt(() => definePostgres({ urlEnv: 'X', pool: { acquireTimeout: 'soon' } })).message).toMatch(
      /pool\.acquireTimeout must be a duration such as '500ms', '10s' or '1m', received "soon"\./,
    )
    expect(attempt(() => definePostgres({ urlEnv: 'X', pool: { max: 2, min: 5 } })).message).toMatch(
      /pool\.min must be at most pool\.max \(2\), received 5\./,
    )
    expect(attempt(() => definePostgres({ urlEnv: 'X', host: 'db' })).message).toMatch(
      /needs exactly one of url, urlEnv, urlFile or host \(found urlEnv, host\)/,
    )
    expect(attempt(() => definePostgres({ urlEnv: 'X', prepare: 'yes' } as never)).message).toMatch(
      /definePostgres\(\.\.\.\)\.prepare must be true or false, received "yes"\./,
    )
    expect(attempt(() => defineMysql('postgres://db/app')).message).toMatch(/url must be a mysql:\/\/ URL/)
    expect(attempt(() => definePostgres({ urlEnv: 'X', pool: { size: 3 } } as never)).message).toMatch(
      /definePostgres\(\.\.\.\)\.pool has unknown option\(s\) "size"/,
    )
  })

  it('a scenario with bad database options exits 104 before any load, without the password', async () => {
    const inspect = startProcess(process.execPath, ['bin/horde.js', 'inspect', BAD])
    const code = await inspect.exited
    expect(code, inspect.output()).toBe(104)
    expect(inspect.output()).toMatch(/url must not carry a password/)
    expect(inspect.output()).toMatch(/pool\.max must be a positive integer, received 0/)
    expect(inspect.output()).not.toContain('hunter2')
  })

  it('name a statement by its first words, without literal values', () => {
    expect(queryName('SELECT abalance FROM pgbench_accounts WHERE aid = $1')).toBe(
      'SELECT abalance FROM pgbench_accounts',
    )
    expect(queryName("  update\n accounts   set balance = 5 where name = 'x'")).toBe(
      'update accounts set balance',
    )
    expect(queryName('SELECT 42')).toBe('SELECT ?')
  })
})
