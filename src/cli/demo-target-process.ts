import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { DemoTargetOptions } from './demo-target.js'

/** The demo target in a child process, as the demo needs it: where it listens, what it served, how to stop it. */
export interface DemoTargetProcess {
  readonly url: string
  /** Stops the app and resolves with the requests it answered. */
  close(): Promise<number>
}

type ChildMessage = { type: 'listening'; url: string } | { type: 'served'; total: number }

/**
 * Starts the bundled vote app in its own Node process. The demo's master shares the CLI's process; with the app
 * in there too, every pause of the master's loop (a stats merge, a GC) showed up as the app's latency in the
 * demo's charts (issue 9). In its own process the charts show the app.
 */
export async function startDemoTargetProcess(options: DemoTargetOptions = {}): Promise<DemoTargetProcess> {
  // Same extension as this module: .js from dist/, .ts when run from source (tests, tsx).
  const self = fileURLToPath(import.meta.url)
  const childPath = self.replace(/demo-target-process\.(js|ts)$/, 'demo-target-child.$1')
  const child: ChildProcess = fork(childPath, [JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: process.execArgv,
  })
  const url = await new Promise<string>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`the demo app exited before listening (code ${code})`))
    child.once('exit', onExit)
    child.on('message', (message: ChildMessage) => {
      if (message.type !== 'listening') return
      child.off('exit', onExit)
      resolve(message.url)
    })
  })
  return {
    url,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return 0
      const served = new Promise<number>((resolve) => {
        child.on('message', (message: ChildMessage) => {
          if (message.type === 'served') resolve(message.total)
        })
        child.once('exit', () => resolve(0))
      })
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.send({ type: 'close' })
      const total = await served
      await exited
      return total
    },
  }
}
