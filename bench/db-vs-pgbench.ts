/**
 * Indexed SELECTs per second from one Horde worker vs pgbench -S, side by side on one throwaway PostgreSQL
 * (Debian's, on 127.0.0.1): the server pinned to CPU 0, each client (pgbench, or one `horde worker`) pinned to
 * CPU 1, alternating in each round so a noisy neighbour hits both. The Horde master (`horde master`) runs beside
 * the server on CPU 0: it is not the worker being measured, and its few % of a core count against Horde there.
 * Horde runs twice a round: as the scenario comes (every statement parsed, as pgbench -M extended) and with
 * `prepare: true` (named prepared statements, as pgbench -M prepared); each is compared with its pgbench mode.
 *
 *   npm run build && npx tsx bench/db-vs-pgbench.ts [--rounds 3] [--seconds 10] [--clients 16] [--scale 10]
 *
 * pgbench runs with -M extended (parse/bind/execute, as pg's parameterised queries) and -M simple (its default).
 * Each round prints both sides' rate and client CPU per query (bash's `times` of the pinned process tree) and the
 * load average; the last line has the medians over rounds and the ratios the goal (≥ 0.5× extended) is about.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startPostgres } from '../test/helpers/db-servers.js'
import { freePort, startProcess, stopProcess } from '../test/helpers/processes.js'

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
const round1 = (x: number): number => Math.round(x * 10) / 10

interface Side {
  perSec: number
  cpuUsPerQuery: number
}

/**
 * Runs `argv` pinned to CPU 1 under bash, whose `times` then prints the CPU its children used (waited-for
 * descendants included: pgbench, or horde run's master and worker): CPU per query does not depend on how much of
 * the core a busy machine left us, unlike queries per second.
 */
function pinnedWithCpu(
  argv: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): { stdout: string; stderr: string; cpuMs: number } {
  const r = spawnSync(
    'taskset',
    ['-c', '1', 'bash', '-c', '"$@"; rc=$?; times >&2; exit $rc', 'bench', ...argv],
    { ...options, encoding: 'utf8' },
  )
  const times = r.stderr.trim().split('\n').at(-1) ?? ''
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(times)
  if (m === null) throw new Error(`no CPU times from bash:\n${r.stderr.slice(-2000)}`)
  const cpuMs = (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000
  return { stdout: r.stdout, stderr: r.stderr, cpuMs }
}

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

const server = await startPostgres()
try {
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(server.pid)], { stdio: 'ignore' })
  execFileSync(`${bin}/pgbench`, ['-i', '-q', '-s', String(scale), server.url], { stdio: 'ignore' })
  /** Transactions per second and client CPU (µs) per transaction. */
  const pgbench = (mode: string): Side => {
    const r = pinnedWithCpu([
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
    ])
    const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(r.stdout)
    const n = /number of transactions actually processed: (\d+)/.exec(r.stdout)
    if (m === null || n === null) throw new Error(`pgbench printed no tps:\n${r.stdout}\n${r.stderr}`)
    return { perSec: Number(m[1]), cpuUsPerQuery: round1((r.cpuMs * 1000) / Number(n[1])) }
  }
  /**
   * Measured-window SELECTs per second of one `horde worker` (pinned to CPU 1) under `horde master` (CPU 0), and
   * the worker's CPU (µs) per SELECT, start-up (loading the scenario) and warm-up included: an upper bound.
   */
  const horde = async (prepare: boolean): Promise<Side> => {
    const out = mkdtempSync(join(tmpdir(), 'horde-bench-pg-'))
    const port = await freePort()
    const env = {
      ...process.env,
      HORDE_BENCH_PG_URL: server.url,
      HORDE_BENCH_PG_CLIENTS: String(clients),
      HORDE_BENCH_PG_SCALE: String(scale),
      HORDE_BENCH_PG_PREPARE: prepare ? '1' : '0',
    }
    const master = startProcess(
      'taskset',
      [
        '-c',
        '0',
        process.execPath,
        'bin/horde.js',
        'master',
        'bench/scenarios/pg-select.ts',
        '--expect-workers',
        '1',
        '--users',
        String(clients),
        '--spawn-rate',
        String(clients),
        '--warmup',
        '2s',
        '--duration',
        `${seconds + 2}s`,
        '--master-host',
        '127.0.0.1',
        '--master-port',
        String(port),
        '--skip-host-check',
        '--out',
        out,
      ],
      { cwd: repo, env },
    )
    try {
      const r = pinnedWithCpu(
        [
          process.execPath,
          'bin/horde.js',
          'worker',
          'bench/scenarios/pg-select.ts',
          '--master-host',
          '127.0.0.1',
          '--master-port',
          String(port),
        ],
        { cwd: repo, env },
      )
      await master.exited
      const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
        verdict: string
        endpoints: Array<{ method: string; name: string; rps: number; failures: number }>
        warmupTotals: { requests: number } | null
        totals: { requests: number }
      }
      const row = result.endpoints.find((e) => e.method === 'SQL')
      if (row === undefined || row.failures > 0)
        throw new Error(
          `horde gave no clean SQL row:\n${master.output().slice(-2000)}\n${r.stderr.slice(-2000)}`,
        )
      const all = result.totals.requests + (result.warmupTotals?.requests ?? 0)
      // Each SELECT records two rows (the query and its pool wait): queries are half the requests.
      return { perSec: row.rps, cpuUsPerQuery: round1((r.cpuMs * 1000) / (all / 2)) }
    } finally {
      await stopProcess(master)
      rmSync(out, { recursive: true, force: true })
    }
  }
  const rows: Array<{
    round: number
    pgbenchExtended: Side
    horde: Side
    pgbenchPrepared: Side
    hordePrepared: Side
    pgbenchSimple: Side
    ratioVsExtended: number
    preparedRatio: number
    loadavg: string
  }> = []
  for (let round = 1; round <= rounds; round++) {
    const pgbenchExtended = pgbench('extended')
    const hordeSide = await horde(false)
    const pgbenchPrepared = pgbench('prepared')
    const hordePrepared = await horde(true)
    const pgbenchSimple = pgbench('simple')
    rows.push({
      round,
      pgbenchExtended,
      horde: hordeSide,
      pgbenchPrepared,
      hordePrepared,
      pgbenchSimple,
      ratioVsExtended: +(hordeSide.perSec / pgbenchExtended.perSec).toFixed(2),
      preparedRatio: +(hordePrepared.perSec / pgbenchPrepared.perSec).toFixed(2),
      loadavg: loadavg(),
    })
    console.log(JSON.stringify(rows.at(-1)))
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
  const medianOf = (pick: (r: (typeof rows)[number]) => number) => median(rows.map(pick))
  const h = medianOf((r) => r.horde.perSec)
  const hp = medianOf((r) => r.hordePrepared.perSec)
  const e = medianOf((r) => r.pgbenchExtended.perSec)
  const p = medianOf((r) => r.pgbenchPrepared.perSec)
  const s = medianOf((r) => r.pgbenchSimple.perSec)
  console.log(
    JSON.stringify({
      clients,
      scale,
      seconds,
      rounds,
      medianPerSec: { horde: h, hordePrepared: hp, pgbenchExtended: e, pgbenchPrepared: p, pgbenchSimple: s },
      // The goal (≥ 0.5): the median of each round's side-by-side ratio, then the ratio of the medians.
      medianRoundRatio: {
        hordeVsExtended: medianOf((r) => r.ratioVsExtended),
        hordePreparedVsPrepared: medianOf((r) => r.preparedRatio),
        hordePreparedVsSimple: medianOf((r) => +(r.hordePrepared.perSec / r.pgbenchSimple.perSec).toFixed(2)),
      },
      ratioOfMedians: {
        hordeVsExtended: +(h / e).toFixed(2),
        hordePreparedVsPrepared: +(hp / p).toFixed(2),
        hordeVsSimple: +(h / s).toFixed(2),
      },
      medianCpuUsPerQuery: {
        horde: medianOf((r) => r.horde.cpuUsPerQuery),
        hordePrepared: medianOf((r) => r.hordePrepared.cpuUsPerQuery),
        pgbenchExtended: medianOf((r) => r.pgbenchExtended.cpuUsPerQuery),
        pgbenchPrepared: medianOf((r) => r.pgbenchPrepared.cpuUsPerQuery),
        pgbenchSimple: medianOf((r) => r.pgbenchSimple.cpuUsPerQuery),
      },
      loadavg: loadavg(),
    }),
  )
} finally {
  await server.stop()
}
