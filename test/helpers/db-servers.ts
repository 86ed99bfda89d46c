import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './processes.js'

/**
 * Throwaway PostgreSQL and MariaDB servers from Debian (scripts/install-db-deps.sh) on 127.0.0.1, in a temp
 * folder, each one our direct child so it is stopped by PID whatever happens (docs: test-components.md §6).
 */
export interface DbServer {
  /** URL without a password (PostgreSQL: trust auth; MariaDB: see `password`). */
  url: string
  port: number
  pid: number
  /** MariaDB: the password of user `lt` (passed to Horde through an env var, as a real Secret would be). */
  password: string
  stop(): Promise<void>
}

function idOf(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim())
  return { uid, gid }
}

function pgBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b))
  const latest = versions.at(-1)
  if (latest === undefined) throw new Error('PostgreSQL is not installed: run scripts/install-db-deps.sh')
  return `/usr/lib/postgresql/${latest}/bin`
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals, root: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      try {
        process.kill(child.pid as number, signal)
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(child.pid as number, 'SIGKILL')
        } catch {
          // already gone
        }
      }, 10_000)
      await exited
      clearTimeout(timer)
    }
    rmSync(root, { recursive: true, force: true })
  }
}

async function waitUntil(
  check: () => boolean,
  child: ChildProcess,
  what: string,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + 60_000
  while (!check()) {
    if (child.exitCode !== null) throw new Error(`${what} exited early:\n${log()}`)
    if (Date.now() > deadline) throw new Error(`${what} did not start within 60 s:\n${log()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** PostgreSQL with pg_stat_statements loaded (server-side query counts), trust auth on loopback. */
export async function startPostgres(extra: string[] = []): Promise<DbServer> {
  const bin = pgBin()
  const root = mkdtempSync(join(tmpdir(), 'horde-pg-'))
  const asRoot = process.getuid?.() === 0
  const owner = asRoot ? idOf('postgres') : undefined
  if (owner !== undefined) chownSync(root, owner.uid, owner.gid)
  const data = join(root, 'data')
  execFileSync(`${bin}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'], {
    stdio: 'ignore',
    ...(owner ?? {}),
  })
  const port = await freePort()
  let log = ''
  const child = spawn(
    `${bin}/postgres`,
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      root,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
      '-c',
      'pg_stat_statements.track=all',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}) },
  )
  child.stdout?.on('data', (b: Buffer) => (log += b.toString()))
  child.stderr?.on('data', (b: Buffer) => (log += b.toString()))
  // SIGINT: PostgreSQL's fast shutdown (sessions ended, no long checkpoint wait needed with fsync off).
  const stop = stopChild(child, 'SIGINT', root)
  try {
    await waitUntil(
      () => /ready to accept connections/.test(log) && existsSync(join(root, `.s.PGSQL.${port}`)),
      child,
      'postgres',
      () => log,
    )
  } catch (error) {
    await stop()
    throw error
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    pid: child.pid as number,
    password: '',
    stop,
  }
}

/** MariaDB with a TCP user `lt` (password in `password`) owning database `lt`. */
export async function startMariaDb(): Promise<DbServer> {
  const root = mkdtempSync(join(tmpdir(), 'horde-mariadb-'))
  const asRoot = process.getuid?.() === 0
  const user = asRoot ? 'mysql' : execFileSync('id', ['-un'], { encoding: 'utf8' }).trim()
  if (asRoot) {
    const owner = idOf('mysql')
    chownSync(root, owner.uid, owner.gid)
  }
  const data = join(root, 'data')
  const socket = join(root, 'mysqld.sock')
  execFileSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--user=${user}`,
      `--datadir=${data}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ],
    { stdio: 'ignore' },
  )
  const port = await freePort()
  let log = ''
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--user=${user}`,
      `--datadir=${data}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${socket}`,
      `--pid-file=${join(root, 'mysqld.pid')}`,
      '--skip-name-resolve',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=64M',
      '--innodb-flush-log-at-trx-commit=2',
      '--max-connections=300',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  child.stdout?.on('data', (b: Buffer) => (log += b.toString()))
  child.stderr?.on('data', (b: Buffer) => (log += b.toString()))
  const stop = stopChild(child, 'SIGTERM', root)
  const password = `lt-${Math.random().toString(36).slice(2)}`
  try {
    await waitUntil(
      () => /ready for connections/.test(log),
      child,
      'mariadbd',
      () => log,
    )
    execFileSync(
      'mariadb',
      [
        '--no-defaults',
        `--socket=${socket}`,
        '-uroot',
        '-e',
        `CREATE DATABASE lt; CREATE USER 'lt'@'127.0.0.1' IDENTIFIED BY '${password}'; GRANT ALL ON *.* TO 'lt'@'127.0.0.1';`,
      ],
      { stdio: 'ignore' },
    )
  } catch (error) {
    await stop()
    throw error
  }
  return { url: `mysql://lt@127.0.0.1:${port}/lt`, port, pid: child.pid as number, password, stop }
}
