import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

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

const started = new Set<TestProcess>()

export function startProcess(command: string, args: string[], options: SpawnOptions = {}): TestProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  if (child.pid === undefined) throw new Error(`could not start ${command}`)
  let output = ''
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = []
  const onData = (chunk: Buffer): void => {
    output += chunk.toString()
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
