import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startProcess, type TestProcess } from './child-processes.js'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
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
