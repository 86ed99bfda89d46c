import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * firebase-tools is kept out of package.json (~318 MB); scripts/install-firebase-tools.sh installs the
 * pinned version into a cache folder once (CI runs it before the tests) and prints where.
 */
export async function firebaseToolsDir(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'scripts', 'install-firebase-tools.sh')], {
    timeout: 600_000,
  })
  const dir = stdout.trim().split('\n').at(-1)
  if (dir === undefined || dir === '') throw new Error('scripts/install-firebase-tools.sh printed no folder')
  return dir
}

/** A port that was free a moment ago (the emulator needs a number up front; it cannot report port 0 back). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      )
    })
  })
}

export interface GcsEmulator {
  /** For STORAGE_EMULATOR_HOST: http://127.0.0.1:<port> */
  host: string
  pid: number
  stop: () => Promise<void>
}

/** Starts the Storage emulator as our own child process; stop() kills it by PID and removes its blobs. */
export async function startGcsEmulator(): Promise<GcsEmulator> {
  const dir = await firebaseToolsDir()
  const port = await freePort()
  const blobs = await mkdtemp(join(tmpdir(), 'horde-gcs-'))
  const child: ChildProcess = spawn(
    process.execPath,
    [join(ROOT, 'test', 'helpers', 'gcs-emulator-server.cjs'), dir, String(port)],
    {
      env: { ...process.env, TMPDIR: blobs, STORAGE_EMULATOR_HOST: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGTERM')
      const killed = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 4000)),
      ])
      if (!killed && child.exitCode === null) {
        process.kill(child.pid, 'SIGKILL')
        await exited
      }
    }
    await rm(blobs, { recursive: true, force: true })
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`GCS emulator did not start in 30 s:\n${output}`)),
        30_000,
      )
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8')
        if (output.includes(`ready ${port}`)) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`GCS emulator exited with ${code}:\n${output}`))
      })
    })
  } catch (error) {
    await stop()
    throw error
  }
  if (child.pid === undefined) throw new Error('GCS emulator has no pid')
  return { host: `http://127.0.0.1:${port}`, pid: child.pid, stop }
}

/**
 * The emulator as this test process's report store: STORAGE_EMULATOR_HOST points at it until stop(), which
 * puts back what the variable held before (the same set-up every store-using test file did by hand).
 */
export async function startGcsEmulatorAsStore(): Promise<GcsEmulator> {
  const emulator = await startGcsEmulator()
  const saved = process.env.STORAGE_EMULATOR_HOST
  process.env.STORAGE_EMULATOR_HOST = emulator.host
  return {
    ...emulator,
    async stop() {
      if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST
      else process.env.STORAGE_EMULATOR_HOST = saved
      await emulator.stop()
    },
  }
}
