import * as core from '@actions/core'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { mdText } from '../../report/index.js'
import { parseK8sRender } from '../../src/cli/k8s-settings.js'
import { kustomizationYaml } from '../../src/k8s/kustomization.js'
import { renderKustomization } from '../../src/k8s/kustomize.js'
import { ExitCode, HordeError, describeValue } from '../../src/shared/errors.js'
import { loadScenario } from '../../src/worker/load-scenario.js'
import { parseRendered } from '../../src/k8s/rendered-run.js'

/**
 * validate-scenario: every changed scenario is loaded as a worker loads it (the project's scenario loader:
 * TypeScript through tsx, defineScenario's checks) and its run is rendered as run-load-test would render it
 * (`horde k8s render`'s code and real `kubectl kustomize`). One line per file in the log, an error annotation
 * on each file that fails, a table in the job summary; the step fails when any file does. No comments.
 */
interface Checked {
  file: string
  ok: boolean
  detail: string
}

const run = promisify(execFile)
/** Render needs an image reference; no image is pulled or built here. */
const PLACEHOLDER_IMAGE = 'registry.example/horde:validate'

const message = (error: unknown): string =>
  error instanceof HordeError
    ? `${error.message} [${error.code}]`
    : error instanceof Error
      ? error.message
      : String(error)

async function changedScenarios(baseSha: string): Promise<string[]> {
  if (!/^[0-9a-f]{7,64}$/.test(baseSha))
    throw new HordeError(
      'HORDE_ERR_ACTION_INPUT',
      `input base-sha must be a commit sha (github.event.pull_request.base.sha), received ${describeValue(baseSha)}.`,
    )
  const { stdout } = await run('git', [
    'diff',
    '-z',
    '--name-only',
    '--diff-filter=ACMR',
    baseSha,
    'HEAD',
    '--',
    'scenarios/*.ts',
  ])
  return stdout.split('\0').filter((f) => f !== '')
}

async function check(file: string, pods: string): Promise<Checked> {
  let scenarioName: string
  try {
    scenarioName = (await loadScenario(file)).name
  } catch (error) {
    return { file, ok: false, detail: `does not load as a worker would: ${message(error)}` }
  }
  const dir = await mkdtemp(join(tmpdir(), 'horde-validate-'))
  try {
    const settings = await parseK8sRender(
      { pods, users: pods, duration: '1m', image: PLACEHOLDER_IMAGE, 'run-id': 'validate', dir },
      [file],
    )
    await writeFile(join(dir, 'kustomization.yaml'), kustomizationYaml(settings.spec))
    const objects = parseRendered(await renderKustomization(dir, settings.kubectl))
    return {
      file,
      ok: true,
      detail: `scenario ${scenarioName}: loads, and renders ${objects.length} Kubernetes objects`,
    }
  } catch (error) {
    return { file, ok: false, detail: `loads, but its run does not render: ${message(error)}` }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const pods = core.getInput('pods') || '2'
  if (!/^[1-9][0-9]{0,2}$/.test(pods)) {
    core.setFailed(`input pods must be a whole number from 1 to 999, received ${describeValue(pods)}.`)
    process.exitCode = ExitCode.invalidInput
    return
  }
  let files: string[]
  try {
    const listed = core.getMultilineInput('scenarios').filter((f) => f !== '')
    files = listed.length > 0 ? listed : await changedScenarios(core.getInput('base-sha'))
  } catch (error) {
    core.setFailed(message(error))
    process.exitCode = ExitCode.invalidInput
    return
  }
  const results: Checked[] = []
  for (const file of files) {
    const r = await check(file, pods)
    results.push(r)
    if (r.ok) core.info(`ok: ${file}: ${r.detail}`)
    else core.error(r.detail, { file, title: 'Scenario check failed' })
  }
  const failed = results.filter((r) => !r.ok)
  core.setOutput('checked', String(results.length))
  core.setOutput('failed', String(failed.length))
  if (process.env.GITHUB_STEP_SUMMARY) {
    const rows = results.map(
      (r) => `| ${r.ok ? '✅' : '❌'} | \`${r.file.replace(/[`|]/g, '')}\` | ${mdText(r.detail)} |`,
    )
    const text =
      results.length === 0
        ? '### Scenario check\n\nNo scenario changed.\n'
        : `### Scenario check\n\n| | File | Result |\n|---|---|---|\n${rows.join('\n')}\n`
    await core.summary.addRaw(text, true).write()
  }
  if (failed.length > 0) {
    core.setFailed(
      `${failed.length} of ${results.length} scenario(s) failed the check: ${failed.map((f) => f.file).join(', ')}`,
    )
    process.exitCode = ExitCode.invalidInput
  } else core.info(`checked ${results.length} changed scenario(s): all load and render`)
}

await main()
