import * as core from '@actions/core'
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseK8sRender } from '../../src/cli/k8s-settings.js'
import { createKubeClient, type KubeClient } from '../../src/k8s/kube-client.js'
import { loadKubeAccess } from '../../src/k8s/kubeconfig.js'
import { kustomizationYaml } from '../../src/k8s/kustomization.js'
import { renderKustomization } from '../../src/k8s/kustomize.js'
import { deleteRunJobs } from '../../src/k8s/stop-run.js'
import { ExitCode, HordeError } from '../../src/shared/errors.js'
import { parseRendered } from '../../src/k8s/rendered-run.js'
import { applyRun, followRun, stopRun, type ClusterRunOptions } from './cluster-run.js'
import { inInputTerms, parseRunInputs, type RunInputs } from './inputs.js'
import { EXIT_CODES, type Outcome } from './outcome.js'
import { publishOutcome } from './publish.js'

/**
 * run-load-test: renders the run with `horde k8s render`'s code, applies it through the Kubernetes API with
 * the runner's kubeconfig, follows it (the master's log lines in the step log), reads the verdict from the
 * master's termination message, notices infrastructure failures (→ invalid), writes outputs, the job summary
 * and annotations, and fails the step per `fail-on`. Cancel (SIGINT, then SIGTERM 7.5 s later) stops the
 * master gracefully and deletes the Jobs; the `post:` step does it again for whatever is left.
 */

/** GitHub kills the step about 10 s after its SIGINT: the master gets most of that to store its result. */
const CANCEL_WAIT_MS = 5000

const message = (error: unknown): string =>
  error instanceof HordeError
    ? `${error.message} [${error.code}]`
    : error instanceof Error
      ? error.message
      : String(error)

function defaultRunId(): string | undefined {
  const { GITHUB_RUN_ID: id, GITHUB_RUN_ATTEMPT: attempt } = process.env
  return id === undefined || id === '' ? undefined : `gh-${id}-${attempt || '1'}`
}

function clusterClient(): KubeClient {
  return createKubeClient(loadKubeAccess())
}

async function prepare(inputs: RunInputs) {
  const runId = inputs.renderFlags['run-id'] ?? defaultRunId()
  const values: Record<string, string> = {
    ...inputs.renderFlags,
    ...(runId === undefined ? {} : { 'run-id': runId }),
    users: inputs.users,
    pods: inputs.pods,
  }
  if (values.namespace === undefined && !process.env.HORDE_NAMESPACE) {
    try {
      // As kubectl would: the kubeconfig context's namespace (get-gke-credentials can set it).
      values.namespace = loadKubeAccess().namespace
    } catch {
      // No kubeconfig yet: render says nothing about it; connecting does, after every input is checked.
    }
  }
  const temp = process.env.RUNNER_TEMP || tmpdir()
  if (runId !== undefined) values.dir = join(temp, 'horde-k8s', runId)
  const settings = await parseK8sRender(values, [inputs.scenario])
  return settings
}

async function main(): Promise<void> {
  const rawToken = core.getInput('api-token')
  if (rawToken !== '') core.setSecret(rawToken)
  if (core.getState('isPost') === 'true') return post()
  core.saveState('isPost', 'true')

  let inputs: RunInputs
  let settings: Awaited<ReturnType<typeof prepare>>
  try {
    inputs = parseRunInputs((name) => core.getInput(name))
    settings = await prepare(inputs)
  } catch (error) {
    core.setFailed(inInputTerms(message(error)))
    process.exitCode = ExitCode.invalidInput
    return
  }
  const { spec } = settings
  const runId = spec.runId
  core.setOutput('run-id', runId)

  let client: KubeClient
  let objects
  try {
    await mkdir(settings.dir, { recursive: true })
    await writeFile(join(settings.dir, 'kustomization.yaml'), kustomizationYaml(spec))
    objects = parseRendered(await renderKustomization(settings.dir, settings.kubectl))
    client = clusterClient()
  } catch (error) {
    core.setFailed(inInputTerms(message(error)))
    process.exitCode = ExitCode.invalidInput
    return
  }

  const cancel = new AbortController()
  let signals = 0
  const onSignal = (name: string) => {
    signals++
    core.warning(
      signals === 1
        ? `${name}: the workflow run was cancelled; stopping run ${runId} gracefully`
        : `${name}: still stopping run ${runId}; the post step finishes the clean-up`,
    )
    cancel.abort()
  }
  process.on('SIGINT', () => onSignal('SIGINT'))
  process.on('SIGTERM', () => onSignal('SIGTERM'))

  const options: ClusterRunOptions = {
    client,
    namespace: spec.namespace,
    runId,
    apiToken: inputs.apiToken,
    pendingLimitMs: inputs.pendingTimeoutMs,
    cancelWaitMs: CANCEL_WAIT_MS,
    log: (line) => core.info(line),
    warn: (line) => core.warning(line),
    cancel: cancel.signal,
  }
  let outcome: Outcome
  try {
    core.saveState('run-id', runId)
    core.saveState('namespace', spec.namespace)
    core.info(
      `run ${runId}: ${spec.pods} worker pod(s) in namespace ${spec.namespace}, image ${spec.image.newName}`,
    )
    await applyRun(client, objects, spec.namespace, options.log)
    const followed = await followRun(options)
    outcome = followed.outcome
    if (followed.jobsGone) core.saveState('done', 'true')
  } catch (error) {
    // The cluster refused or vanished: whatever was applied must not keep loading.
    core.setFailed(`run ${runId} could not be run on the cluster: ${message(error)}`)
    await deleteRunJobs(client, spec.namespace, runId, 3000).catch(() => false)
    await client.close()
    process.exitCode = ExitCode.invalidRun
    return
  }
  await client.close()

  const published = await publishOutcome({
    outcome,
    runId,
    scenario: inputs.scenario,
    reportStore: inputs.renderFlags.store ?? spec.config.HORDE_REPORT_STORE ?? null,
    outDir: resolve(process.env.GITHUB_WORKSPACE || '.', 'horde-results', runId),
    warn: (l) => core.warning(l),
  })
  core.setOutput('verdict', outcome.verdict)
  core.setOutput('exit-code', String(EXIT_CODES[outcome.verdict]))
  core.setOutput('report-url', outcome.reportUrl ?? '')
  core.setOutput('result-path', published.resultPath ?? '')
  core.setOutput('reasons', outcome.reasons.join('; '))
  for (const a of published.annotations) core.error(a.text, { title: a.title })
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary
      .addRaw(published.summary, true)
      .write()
      .catch((error: unknown) => core.warning(`could not write the job summary: ${message(error)}`))
  }
  const line = `verdict ${outcome.verdict.toUpperCase()} for run ${runId}${outcome.reasons.length > 0 ? `: ${outcome.reasons.join('; ')}` : ''}${outcome.reportUrl ? ` (report: ${outcome.reportUrl})` : ''}`
  if (inputs.failOn.has(outcome.verdict)) {
    core.setFailed(line)
    process.exitCode = EXIT_CODES[outcome.verdict]
  } else {
    core.info(line)
  }
}

/** The post: step (also after a cancel): whatever main could not finish — stop, wait, delete. */
async function post(): Promise<void> {
  const runId = core.getState('run-id')
  const namespace = core.getState('namespace')
  if (runId === '' || namespace === '' || core.getState('done') === 'true') return
  let stopWaitMs = 180_000
  try {
    stopWaitMs = parseRunInputs((name) => core.getInput(name)).stopWaitMs
  } catch {
    // Inputs were checked by main; keep the default.
  }
  const token = core.getInput('api-token')
  let client: KubeClient
  try {
    client = clusterClient()
  } catch (error) {
    core.warning(`post: cannot reach the cluster to clean up run ${runId}: ${message(error)}`)
    return
  }
  core.info(`post: making sure run ${runId} has stopped and its Jobs are gone`)
  const { outcome, jobsGone } = await stopRun(
    {
      client,
      namespace,
      runId,
      apiToken: token === '' ? null : token,
      pendingLimitMs: 0,
      cancelWaitMs: stopWaitMs,
      log: (l) => core.info(`post: ${l}`),
      warn: (l) => core.warning(`post: ${l}`),
      cancel: new AbortController().signal,
    },
    'the workflow run was cancelled (post step)',
    stopWaitMs,
  )
  if (outcome !== null) core.info(`post: the master of run ${runId} ended: ${outcome.verdict}`)
  if (!jobsGone) core.warning(`post: the Jobs of run ${runId} are still being deleted (foreground)`)
  await client.close()
}

await main()
// Signal handlers and the HTTP agent must not keep a finished step alive.
process.exit(process.exitCode ?? 0)
