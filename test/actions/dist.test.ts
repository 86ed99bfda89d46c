import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { REPO_ROOT } from '../helpers/processes.js'

// A JavaScript action runs its committed dist/ as is: a change to main.ts, to the library code it bundles or
// to a dependency must come with a rebuilt dist (`npm run build:actions`), or the workflow runs old code.

const run = promisify(execFile)
const actionsDir = join(REPO_ROOT, 'actions')
const actions = (await readdir(actionsDir, { withFileTypes: true }))
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
let fresh: string

beforeAll(async () => {
  fresh = await mkdtemp(join(tmpdir(), 'horde-actions-dist-'))
  await run(process.execPath, [join(REPO_ROOT, 'scripts', 'build-actions.mjs'), fresh], { cwd: REPO_ROOT })
})
afterAll(async () => {
  await rm(fresh, { recursive: true, force: true })
})

describe('bundled actions', () => {
  it('there is at least one action', () => {
    expect(actions).toContain('notify-slack')
  })

  it.each(actions)(
    'actions/%s: action.yml runs node24 from dist/index.js, and dist/ is what the sources build',
    async (name) => {
      const meta = parse(await readFile(join(actionsDir, name, 'action.yml'), 'utf8')) as {
        runs?: { using?: string; main?: string; post?: string }
      }
      expect(meta.runs?.using).toBe('node24')
      expect(meta.runs?.main).toBe('dist/index.js')
      if (meta.runs?.post !== undefined) expect(meta.runs.post).toBe('dist/index.js')
      const committed = join(actionsDir, name, 'dist')
      const rebuilt = join(fresh, 'actions', name, 'dist')
      expect(
        existsSync(join(committed, 'index.js')),
        `actions/${name}/dist/index.js is missing: run npm run build:actions`,
      ).toBe(true)
      const files = (await readdir(rebuilt)).sort()
      expect((await readdir(committed)).sort()).toEqual(files)
      for (const file of files) {
        const same = (await readFile(join(committed, file))).equals(await readFile(join(rebuilt, file)))
        expect(
          same,
          `actions/${name}/dist/${file} is stale: run npm run build:actions and commit dist/`,
        ).toBe(true)
      }
    },
  )
})
