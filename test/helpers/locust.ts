import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startProcess, type TestProcess } from './processes.js'

/** Debian's Locust 2.12.1 (python3-locust), installed by scripts/install-test-deps.sh. */
export const LOCUST_BIN = '/usr/bin/locust'
export const VOTE_LOCUSTFILE = fileURLToPath(new URL('./locustfiles/vote_locustfile.py', import.meta.url))

export interface LocustMasterOptions {
  locustfile: string
  port: number
  users: number
  spawnRate: number
  runTime: string
  expectWorkers: number
  host: string
  csvPrefix: string
  cwd: string
  extraArgs?: string[]
}

export function startLocustMaster(options: LocustMasterOptions): TestProcess {
  return startProcess(
    LOCUST_BIN,
    [
      '-f',
      options.locustfile,
      '--master',
      '--headless',
      '--master-bind-host',
      '127.0.0.1',
      '--master-bind-port',
      String(options.port),
      '--expect-workers',
      String(options.expectWorkers),
      '-u',
      String(options.users),
      '-r',
      String(options.spawnRate),
      '-t',
      options.runTime,
      '-H',
      options.host,
      '--csv',
      options.csvPrefix,
      '--only-summary',
      ...(options.extraArgs ?? []),
    ],
    { cwd: options.cwd, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
  )
}

/** Parses a Locust CSV (stats or failures) into rows keyed by header. */
export function readLocustCsv(path: string): Array<Record<string, string>> {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split(/\r?\n/)
  const columns = parseCsvLine(header ?? '')
  return lines.map((line) =>
    Object.fromEntries(parseCsvLine(line).map((v, i) => [columns[i] ?? String(i), v])),
  )
}

function parseCsvLine(line: string): string[] {
  const out: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        current += '"'
        i++
      } else if (c === '"') quoted = false
      else current += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      out.push(current)
      current = ''
    } else current += c
  }
  out.push(current)
  return out
}

/** A real Debian Locust 2.12.1 worker connected to our master. */
export function startLocustWorker(masterPort: number, locustfile = VOTE_LOCUSTFILE): TestProcess {
  return startProcess(LOCUST_BIN, [
    '-f',
    locustfile,
    '--worker',
    '--master-host',
    '127.0.0.1',
    '--master-port',
    String(masterPort),
    '--loglevel',
    'WARNING',
  ])
}
