import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { runAction } from '../helpers/github-action.js'
import { REPO_ROOT } from '../helpers/processes.js'

// actions/validate-scenario's bundled entry point in a pull request's checkout (a throwaway git repository
// whose scenarios import 'horde' from this package): only the scenarios the PR added or changed are loaded as
// a worker would and rendered with real kustomize; a broken one fails the check with its file and reason.

const git = promisify(execFile)
let repo: string

const good = (name: string): string => `import { defineScenario, user, task } from 'horde'
export default defineScenario({
  name: '${name}',
  host: 'http://127.0.0.1:8080',
  users: { Reader: user({ weight: 1, tasks: { home: task(1, ({ http }) => http.get('/')) } }) },
})
`
const badWeight = good('bad').replace('weight: 1', 'weight: -1')

async function commit(files: Record<string, string>, message: string): Promise<string> {
  for (const [path, text] of Object.entries(files)) await writeFile(join(repo, path), text)
  await git('git', ['add', '-A'], { cwd: repo })
  await git('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', message], {
    cwd: repo,
  })
  return (await git('git', ['rev-parse', 'HEAD'], { cwd: repo })).stdout.trim()
}

beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), 'horde-validate-pr-'))
  await mkdir(join(repo, 'scenarios'))
  await mkdir(join(repo, 'node_modules'))
  await symlink(REPO_ROOT, join(repo, 'node_modules', 'horde'))
  await writeFile(join(repo, 'package.json'), '{ "type": "module" }\n')
  await git('git', ['init', '-q'], { cwd: repo })
})
afterEach(async () => {
  await rm(repo, { recursive: true, force: true })
})

it('checks only the changed scenarios: good ones load and render, a broken one fails with its file and the reason', async () => {
  const base = await commit(
    {
      'scenarios/kept.ts': good('kept'),
      'scenarios/stale.ts': 'export default 42\n',
      '.gitignore': 'node_modules\n',
    },
    'base',
  )
  await commit(
    {
      'scenarios/kept.ts': good('kept-changed'),
      'scenarios/added.ts': good('added'),
      'scenarios/broken.ts': badWeight,
    },
    'the pull request',
  )
  const step = await runAction('validate-scenario', { 'base-sha': base }, { cwd: repo, timeoutMs: 90_000 })
  expect(step.exitCode, step.log).toBe(104)
  expect(step.outputs).toMatchObject({ checked: '3', failed: '1' })
  expect(step.log).toMatch(
    /ok: scenarios\/added\.ts: scenario added: loads, and renders \d+ Kubernetes objects/,
  )
  expect(step.log).toMatch(/ok: scenarios\/kept\.ts: scenario kept-changed/)
  expect(step.log).toMatch(
    /::error title=Scenario check failed,file=scenarios\/broken\.ts::does not load as a worker would: .*users\.Reader\.weight must be a positive integer, received -1/,
  )
  // The unchanged (and broken) file is not the pull request's business.
  expect(step.log).not.toContain('stale.ts')
  expect(step.summary).toContain('| ❌ | `scenarios/broken.ts` |')
  expect(step.summary).toContain('| ✅ | `scenarios/added.ts` |')
}, 120_000)

it('passes when every changed scenario is good, and says so when none changed', async () => {
  const base = await commit({ 'scenarios/a.ts': good('a'), '.gitignore': 'node_modules\n' }, 'base')
  const none = await runAction('validate-scenario', { 'base-sha': base }, { cwd: repo, timeoutMs: 60_000 })
  expect(none.exitCode, none.log).toBe(0)
  expect(none.summary).toContain('No scenario changed.')
  await commit({ 'scenarios/b.ts': good('b') }, 'add b')
  const step = await runAction('validate-scenario', { 'base-sha': base }, { cwd: repo, timeoutMs: 90_000 })
  expect(step.exitCode, step.log).toBe(0)
  expect(step.outputs).toMatchObject({ checked: '1', failed: '0' })
}, 120_000)
