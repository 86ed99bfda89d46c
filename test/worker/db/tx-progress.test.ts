import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import type { MasterRunResult } from '../../../src/master/result-builder.js'
import { startProcess, stopProcess, type TestProcess } from '../../helpers/processes.js'
import { startPostgres, type DbServer } from '../../helpers/db-servers.js'

const SCENARIO = join(import.meta.dirname, '../../helpers/scenarios/db-tx-mix.ts')

let server: DbServer
let out: string
let run: TestProcess | undefined
beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'horde-db-progress-'))
  server = await startPostgres()
  const admin = new pg.Client({ connectionString: server.url, application_name: 'admin' })
  await admin.connect()
  try {
    await admin.query('CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)')
    await admin.query('INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 100) g')
  } finally {
    await admin.end()
  }
}, 60_000)
afterAll(async () => {
  await stopProcess(run)
  await server?.stop()
  rmSync(out, { recursive: true, force: true })
})

const TX_LINE = /^\[\s*\d+s\] tx ([\d.]+) tps: (.*)$/
const TYPE_PART = /^(\w+) ([\d.]+) tps(?: \(([\d.]+) failed\))? avg ([\d.]+) p95 ([\d.]+) ms$/

describe('horde run against a real PostgreSQL', () => {
  it('prints tps and latency per transaction type each second, as JdbcRunner does, and reports them', async () => {
    run = startProcess(
      process.execPath,
      [
        'bin/horde.js',
        'run',
        SCENARIO,
        '--users',
        '8',
        '--spawn-rate',
        '100',
        '--duration',
        '10s',
        '--workers',
        '2',
        '--out',
        out,
        // `horde run` still wants an HTTP host (it checks it is reachable): the database's own port serves.
        '--host',
        `http://127.0.0.1:${server.port}`,
      ],
      { env: { HORDE_TEST_PG_URL: server.url } },
    )
    const code = await run.exited
    const output = run.output()
    expect([0, 106], output).toContain(code)
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as MasterRunResult
    const txLines = output
      .split('\n')
      .map((line) => TX_LINE.exec(line))
      .filter((m) => m !== null)
    expect(txLines.length, output).toBeGreaterThanOrEqual(2)
    for (const [line, total, rest] of txLines) {
      const parts = (rest ?? '').split(', ').map((p) => TYPE_PART.exec(p))
      expect(
        parts.every((p) => p !== null),
        line,
      ).toBe(true)
      // Both types, busiest first: transfer runs three times as often as audit.
      expect(
        parts.map((p) => p?.[1]),
        line,
      ).toEqual(['transfer', 'audit'])
      const tps = parts.map((p) => Number(p?.[2]))
      expect(tps[0], line).toBeGreaterThan(tps[1] ?? Infinity)
      expect(Math.abs(Number(total) - (tps[0] ?? 0) - (tps[1] ?? 0)), line).toBeLessThan(0.2)
      for (const p of parts) {
        const row = result.endpoints.find((e) => e.method === 'TX' && e.name === p?.[1])
        // A second's p95 never exceeds the slowest transaction of the run (+ Locust bucket rounding).
        expect(Number(p?.[5]), line).toBeLessThanOrEqual((row?.maxMs ?? 0) * 1.05 + 1)
        expect(Number(p?.[4]), line).toBeGreaterThan(0)
      }
    }
    // The lines count what the run recorded: their tps never exceed the run's busiest second for the type.
    const transfer = result.endpoints.find((e) => e.method === 'TX' && e.name === 'transfer')
    expect(transfer?.requests).toBeGreaterThan(0)
    const peak = Math.max(...result.timeSeries.map((p) => p.endpoints?.['TX transfer']?.rps ?? 0))
    for (const [line, , rest] of txLines) {
      expect(Number(/transfer ([\d.]+) tps/.exec(rest ?? '')?.[1]), line).toBeLessThanOrEqual(peak)
    }
    // The report of the same real run has the database section with both transaction types.
    const html = readFileSync(join(out, 'index.html'), 'utf8')
    const section = html.slice(html.indexOf('id="database"'), html.indexOf('id="chart-tx"'))
    expect(section).toMatch(/<h2>Transactions <span class="count">2<\/span>/)
    expect(section).toContain('>transfer<')
    expect(section).toContain('>audit<')
  }, 60_000)
})
