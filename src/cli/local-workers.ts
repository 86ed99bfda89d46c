import { spawn, type ChildProcess } from 'node:child_process'
import { OPEN_MODEL_NODE_FLAGS } from './worker-node-flags.js'
import { createWriteStream, existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../shared/logger.js'

/** bin/horde.js of this package, found from this module whether it runs from src/ (tsx) or dist/. */
export function hordeBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'bin', 'horde.js')
    if (existsSync(candidate)) return candidate
    dir = dirname(dir)
  }
  throw new Error('bin/horde.js not found above ' + fileURLToPath(import.meta.url))
}

export interface LocalWorkers {
  readonly pids: number[]
  /** Waits up to `ms` for every worker to exit, then kills the rest by PID. */
  stop(ms: number): Promise<void>
  /** Kills every worker still running by PID, now (a second Ctrl-C). */
  killNow(): void
}

/**
 * Starts K `horde worker` processes on loopback for `horde run`. Their JSON logs go to files in the output folder
 * so the console stays readable. They exit when the master quits them, or within their master timeout when the
 * master dies (no load survives the master).
 */
export function startLocalWorkers(options: {
  count: number
  scenarioFile: string
  masterPort: number
  host: string | null
  /** The run's join secret, handed to each worker in HORDE_JOIN_SECRET (argv is visible to every user in ps). */
  joinSecret?: string
  /** Open model: workers get a larger young generation (WORKER_NODE_FLAGS) for a steadier start schedule. */
  openModel?: boolean
  logDir: string
  logger: Logger
  /** More environment for the workers (the run id, Datadog settings). */
  env?: Record<string, string>
  /** Called when a worker process exits, with its index, exit code and log file. */
  onExit?: (index: number, code: number | null, logFile: string) => void
}): LocalWorkers {
  mkdirSync(options.logDir, { recursive: true })
  const bin = hordeBin()
  const children: ChildProcess[] = []
  for (let i = 0; i < options.count; i++) {
    const args = [
      ...(options.openModel === true ? OPEN_MODEL_NODE_FLAGS : []),
      bin,
      'worker',
      options.scenarioFile,
      '--master-host',
      '127.0.0.1',
      '--master-port',
      String(options.masterPort),
    ]
    if (options.host !== null) args.push('--host', options.host)
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...options.env,
        HORDE_LOG_LEVEL: process.env.HORDE_WORKER_LOG_LEVEL ?? 'info',
        ...(options.joinSecret !== undefined ? { HORDE_JOIN_SECRET: options.joinSecret } : {}),
      },
    })
    const logFile = join(options.logDir, `worker-${i}.log`)
    const log = createWriteStream(logFile)
    child.stdout?.pipe(log)
    child.stderr?.pipe(log)
    child.on('exit', (code, signal) => {
      if (code !== 0) options.logger.warn({ worker: i, pid: child.pid, code, signal }, 'local worker exited')
      options.onExit?.(i, code, logFile)
    })
    children.push(child)
  }
  const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null
  const killNow = (): void => {
    for (const child of children.filter(alive)) {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL')
        } catch {
          // exited meanwhile
        }
      }
    }
  }
  return {
    pids: children.map((c) => c.pid ?? -1),
    stop: async (ms) => {
      const deadline = Date.now() + ms
      while (children.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      killNow()
    },
    killNow,
  }
}
