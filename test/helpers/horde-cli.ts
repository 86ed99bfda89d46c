import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { REPO_ROOT, startProcess, type TestProcess } from './processes.js'

export { REPO_ROOT }
export const VOTE_SCENARIO = fileURLToPath(new URL('./scenarios/vote.ts', import.meta.url))
export const HORDE_BIN = `${REPO_ROOT}bin/horde.js`

/** Runs the built CLI (`npm test` builds first; run `npm run build` before `npx vitest`). */
export function startHorde(args: string[], env: NodeJS.ProcessEnv = {}): TestProcess {
  if (!existsSync(`${REPO_ROOT}dist/src/cli/main.js`)) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does it for you)')
  }
  return startProcess(process.execPath, [HORDE_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, HORDE_LOG_LEVEL: 'info', ...env },
  })
}

/** A Horde worker process (the built CLI: run `npm run build` first) connected to our master. */
export function startHordeWorker(masterPort: number, host: string, scenario = VOTE_SCENARIO): TestProcess {
  return startProcess(
    process.execPath,
    [
      'bin/horde.js',
      'worker',
      scenario,
      '--master-host',
      '127.0.0.1',
      '--master-port',
      String(masterPort),
      '--host',
      host,
    ],
    { env: { HORDE_LOG_LEVEL: 'warn' } },
  )
}

/** `horde master` flags as the tests start it: on loopback, control API on port 0, results into `out`. */
export function masterArgs(options: {
  scenario?: string
  workers: number
  users: number
  spawnRate: number
  duration: string
  port: number
  host: string
  out: string
}): string[] {
  return [
    'master',
    options.scenario ?? VOTE_SCENARIO,
    '--expect-workers',
    String(options.workers),
    '-u',
    String(options.users),
    '-r',
    String(options.spawnRate),
    '-t',
    options.duration,
    '--master-host',
    '127.0.0.1',
    '--master-port',
    String(options.port),
    '--host',
    options.host,
    '--api-port',
    '0',
    '--out',
    options.out,
  ]
}
