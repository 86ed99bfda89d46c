/**
 * Indexed SELECTs per second from one Horde worker vs pgbench -S, side by side on one throwaway PostgreSQL
 * (Debian's, on 127.0.0.1): the server pinned to CPU 0, each client (pgbench, or `horde run` with one worker)
 * pinned to CPU 1, alternating rounds so a noisy neighbour hits both.
 *
 *   npm run build && npx tsx bench/db-vs-pgbench.ts [--rounds 3] [--seconds 10] [--clients 16] [--scale 10]
 *
 * pgbench runs with -M extended (parse/bind/execute, as pg's parameterised queries) and -M simple (its default).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startPostgres } from '../test/helpers/db-servers.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '16' },
    scale: { type: 'string', default: '10' },
  },
})
const rounds = Number(values.rounds)
const seconds = Number(values.seconds)
const clients = Number(values.clients)
const scale = Number(values.scale)
const bin = `/usr/lib/postgresql/${readdirSync('/usr/lib/postgresql').sort().at(-1)}/bin`
const repo = join(import.meta.dirname, '..')

const server = await startPostgres()
try {
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(server.pid)], { stdio: 'ignore' })
  execFileSync(`${bin}/pgbench`, ['-i', '-q', '-s', String(scale), server.url], { stdio: 'ignore' })
  const pgbench = (mode: string): number => {
    const r = spawnSync(
      'taskset',
      [
        '-c',
        '1',
        `${bin}/pgbench`,
        '-S',
        '-n',
        '-M',
        mode,
        '-c',
        String(clients),
        '-j',
        '1',
        '-T',
        String(seconds),
        server.url,
      ],
      { encoding: 'utf8' },
    )
    const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(r.stdout)
    if (m === null) throw new Error(`pgbench printed no tps:\n${r.stdout}\n${r.stderr}`)
    return Number(m[1])
  }
  const horde = (): number => {
    const out = mkdtempSync(join(tmpdir(), 'horde-bench-pg-'))
    try {
      const r = spawnSync(
        'taskset',
        [
          '-c',
          '1',
          process.execPath,
          'bin/horde.js',
          'run',
          'bench/scenarios/pg-select.ts',
          '--users',
          String(clients),
          '--spawn-rate',
          String(clients),
          '--warmup',
          '2s',
          '--duration',
          `${seconds + 2}s`,
          '--workers',
          '1',
          '--out',
          out,
        ],
        {
          cwd: repo,
          encoding: 'utf8',
          env: {
            ...process.env,
            HORDE_BENCH_PG_URL: server.url,
            HORDE_BENCH_PG_CLIENTS: String(clients),
            HORDE_BENCH_PG_SCALE: String(scale),
          },
        },
      )
      const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
        verdict: string
        endpoints: Array<{ method: string; name: string; rps: number; failures: number }>
      }
      const row = result.endpoints.find((e) => e.method === 'SQL')
      if (row === undefined || row.failures > 0)
        throw new Error(`horde run gave no clean SQL row:\n${r.stderr.slice(-2000)}`)
      return row.rps
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  }
  const rows: Array<{ round: number; pgbenchExtended: number; pgbenchSimple: number; horde: number }> = []
  for (let round = 1; round <= rounds; round++) {
    const pgbenchExtended = pgbench('extended')
    const hordeRps = horde()
    const pgbenchSimple = pgbench('simple')
    rows.push({ round, pgbenchExtended, pgbenchSimple, horde: hordeRps })
    console.log(JSON.stringify(rows.at(-1)))
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
  const h = median(rows.map((r) => r.horde))
  const e = median(rows.map((r) => r.pgbenchExtended))
  const s = median(rows.map((r) => r.pgbenchSimple))
  console.log(
    JSON.stringify({
      clients,
      scale,
      seconds,
      medianHorde: h,
      medianPgbenchExtended: e,
      medianPgbenchSimple: s,
      ratioVsExtended: +(h / e).toFixed(2),
      ratioVsSimple: +(h / s).toFixed(2),
      loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
    }),
  )
} finally {
  await server.stop()
}
