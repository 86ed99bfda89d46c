import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { LOCUST_BIN } from './locust.js'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
export { LOCUST_BIN }
export const VOTE_LOCUSTFILE = fileURLToPath(new URL('./locustfiles/vote_locustfile.py', import.meta.url))

export interface Started {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

/** Starts a process we own; tests kill it by PID in finally/afterEach. Output is kept for failure messages. */
export function startProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; logFile?: string } = {},
): Started {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let text = ''
  const log = options.logFile === undefined ? null : createWriteStream(options.logFile)
  const keep = (chunk: Buffer): void => {
    text += chunk.toString('utf8')
    if (text.length > 200_000) text = text.slice(-100_000)
    log?.write(chunk)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => text, exited }
}

/** A real Debian Locust 2.12.1 worker connected to our master. */
export function startLocustWorker(masterPort: number, locustfile = VOTE_LOCUSTFILE): Started {
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

/** Kills a process we started (by its PID) and waits for it to exit. */
export async function stopProcess(
  started: Started | undefined,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<void> {
  if (started === undefined) return
  const { child } = started
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, signal)
    } catch {
      // already gone
    }
    await Promise.race([started.exited, new Promise((resolve) => setTimeout(resolve, 5000))])
  }
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export const VOTE_SCENARIO = fileURLToPath(new URL('./scenarios/vote.ts', import.meta.url))

/** A Horde worker process (the built CLI: run `npm run build` first) connected to our master. */
export function startHordeWorker(masterPort: number, host: string, scenario = VOTE_SCENARIO): Started {
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
