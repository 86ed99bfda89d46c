import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** A child process a test started: output captured, killed by PID at the end whatever happens. */
export interface TestProcess {
  child: ChildProcess
  pid: number
  output(): string
  /** Resolves when a line matching `pattern` appears (stdout or stderr), rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>
  kill(signal?: NodeJS.Signals): void
}

export interface StartOptions {
  /** Defaults to the repository root. */
  cwd?: string
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv
}

const started = new Set<TestProcess>()
/** Output kept per process: enough for failure messages without growing without bound. */
const MAX_OUTPUT_CHARS = 4_000_000

export function startProcess(command: string, args: string[], options: StartOptions = {}): TestProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (child.pid === undefined) throw new Error(`could not start ${command}`)
  let output = ''
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = []
  const onData = (chunk: Buffer): void => {
    output += chunk.toString()
    if (output.length > MAX_OUTPUT_CHARS) output = output.slice(-MAX_OUTPUT_CHARS / 2)
    for (const waiter of [...waiters]) {
      const match = output.match(waiter.pattern)
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(match[0])
      }
    }
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1))
  })
  const proc: TestProcess = {
    child,
    pid: child.pid,
    output: () => output,
    exited,
    waitFor(pattern, timeoutMs) {
      const match = output.match(pattern)
      if (match) return Promise.resolve(match[0])
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${pattern} in output of ${command}:\n${output.slice(-3000)}`,
            ),
          )
        }, timeoutMs)
        const waiter = {
          pattern,
          resolve: (line: string) => {
            clearTimeout(timer)
            resolve(line)
          },
        }
        waiters.push(waiter)
      })
    },
    kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid as number, signal)
        } catch {
          // already gone
        }
      }
    },
  }
  started.add(proc)
  void exited.then(() => started.delete(proc))
  return proc
}

/** Kills every process this helper started that is still running (call in afterEach). */
export async function killAllStarted(): Promise<void> {
  const running = [...started]
  for (const proc of running) proc.kill('SIGKILL')
  await Promise.all(running.map((p) => p.exited))
}

/** A free TCP port on 127.0.0.1 (for programs that cannot bind port 0 and report it). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Kills a process we started (by its PID) and waits up to 5 s for it to exit. */
export async function stopProcess(
  proc: TestProcess | undefined,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<void> {
  if (proc === undefined) return
  proc.kill(signal)
  await Promise.race([proc.exited, new Promise((resolve) => setTimeout(resolve, 5000))])
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
