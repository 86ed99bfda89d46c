import { existsSync, readdirSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, describeValue } from '../shared/errors.js'
import {
  MAX_DURATION_TEXT,
  formatDurationMs,
  parseDurationMs,
  parseTimerDurationMs,
} from '../shared/duration.js'
import { loadScenario } from '../worker/load-scenario.js'
import { IMAGE_ENTRYPOINT, parseImageRef } from '../k8s/image.js'
import type { RunSpec } from '../k8s/kustomization.js'
import { flagOrEnv } from './flags.js'
import { parseK8sDatadog } from './k8s-datadog.js'
import { buildPlan, makeRunId, parseLoadSettings } from './run-settings.js'
import { OPEN_MODEL_NODE_FLAGS } from './worker-node-flags.js'
import { parseGcsUrl } from '../../report/index.js'

/** Time the master needs after the load: render the report and upload it to the store. */
export const REPORT_MARGIN_MS = 120_000
/** Grace beyond the stop timeout before the kubelet kills a pod that got SIGTERM. */
export const MASTER_GRACE_MARGIN_S = 60
export const WORKER_GRACE_MARGIN_S = 15
/** `horde-worker-` + run id + `-NN` (an Indexed pod's hostname) must stay a 63-character DNS label. */
export const MAX_RUN_ID_CHARS = 40

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

export interface K8sRenderSettings {
  spec: RunSpec
  /** Where the kustomization is written. */
  dir: string
  kubectl: string
}

function fail(flag: string, received: unknown, fix: string): never {
  throw new ConfigError('HORDE_ERR_K8S_FLAG', `${flag} ${fix}, received ${describeValue(received)}.`)
}

/** The package's manifests/ folder, found from this module whether it runs from src/ (tsx) or dist/. */
export function packageManifestsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'manifests', 'base', 'kustomization.yaml'))) return join(dir, 'manifests')
    dir = dirname(dir)
  }
  return resolve('manifests')
}

/** A default run id that is a DNS label: the scenario's name (lowercased) + UTC time + 4 hex. */
export function defaultK8sRunId(scenarioName: string): string {
  const id = makeRunId(scenarioName.toLowerCase().replace(/[^a-z0-9]+/g, '-')).toLowerCase()
  const [, tail] = /(-\d{8}-\d{6}-[0-9a-f]{4})$/.exec(id) ?? ['', '']
  const head = id
    .slice(0, id.length - (tail?.length ?? 0))
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_RUN_ID_CHARS - (tail?.length ?? 0))
    .replace(/-+$/, '')
  return `${head === '' ? 'run' : head}${tail ?? ''}`
}

/**
 * `horde k8s render` flags + HORDE_* variables → one run's spec. Every check happens here, before anything is
 * written or rendered. Only values the user gave are carried into the ConfigMap, as text, so the master in
 * the pod parses them exactly as `horde master` would; the control API token is never carried (it comes
 * from the optional Secret).
 */
export async function parseK8sRender(
  values: Record<string, unknown>,
  positionals: string[],
): Promise<K8sRenderSettings> {
  const get = (flag: string, env: string): string | undefined => flagOrEnv(values, flag, env)
  const scenarioArg = positionals[0] ?? process.env.HORDE_SCENARIO
  if (positionals.length > 1 || scenarioArg === undefined) {
    fail('<scenario>', positionals, 'must be one scenario file under scenarios/ (or HORDE_SCENARIO)')
  }
  const podsText = get('pods', 'HORDE_PODS')
  if (podsText === undefined)
    fail('--pods', podsText, 'is required: the number of worker pods, e.g. --pods 3')
  const pods = Number(podsText)
  if (!/^\d+$/.test(podsText.trim()) || pods < 1 || pods > 1000) {
    fail('--pods', podsText, 'must be a whole number of worker pods from 1 to 1000')
  }
  const imageText = get('image', 'HORDE_IMAGE')
  if (imageText === undefined) {
    fail(
      '--image',
      imageText,
      'is required: the image built from this commit, e.g. ghcr.io/acme/horde:3f2a1c0',
    )
  }
  const image = parseImageRef(imageText)
  const namespace = get('namespace', 'HORDE_NAMESPACE') ?? 'default'
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    fail('--namespace', namespace, 'must be a Kubernetes namespace name (lowercase letters, digits and "-")')
  }
  const runIdGiven = get('run-id', 'HORDE_RUN_ID')
  if (runIdGiven !== undefined && (!DNS_LABEL.test(runIdGiven) || runIdGiven.length > MAX_RUN_ID_CHARS)) {
    fail(
      '--run-id',
      runIdGiven,
      `must be a DNS label of at most ${MAX_RUN_ID_CHARS} characters (lowercase letters, digits and "-", starting and ending with a letter or digit), since it suffixes every object's name; e.g. checkout-1742`,
    )
  }
  const manifests = resolve(get('manifests', 'HORDE_K8S_MANIFESTS') ?? packageManifestsDir())
  const overlay = get('overlay', 'HORDE_OVERLAY')
  let resourceDir = join(manifests, 'base')
  if (overlay !== undefined) {
    resourceDir = join(manifests, 'overlays', overlay)
    if (
      !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(overlay) ||
      !existsSync(join(resourceDir, 'kustomization.yaml'))
    ) {
      const known = existsSync(join(manifests, 'overlays'))
        ? readdirSync(join(manifests, 'overlays')).filter((d) =>
            existsSync(join(manifests, 'overlays', d, 'kustomization.yaml')),
          )
        : []
      fail(
        '--overlay',
        overlay,
        `must name a folder of ${join(manifests, 'overlays')} with a kustomization.yaml (known: ${known.join(', ') || 'none'})`,
      )
    }
  }
  if (!existsSync(join(manifests, 'base', 'kustomization.yaml'))) {
    fail(
      '--manifests',
      manifests,
      "must be a folder with base/kustomization.yaml (the repository's manifests/)",
    )
  }

  // The image bakes in scenarios/ at /app/scenarios: the pods find the file by the same relative path.
  const scenarioRel = relative(process.cwd(), resolve(scenarioArg)).split(sep).join('/')
  if (isAbsolute(scenarioRel) || !scenarioRel.startsWith('scenarios/') || scenarioRel.includes('..')) {
    fail(
      '<scenario>',
      scenarioArg,
      'must be a file under scenarios/ of this repository (the image bakes in scenarios/); run render from the repository root',
    )
  }
  const settings = parseLoadSettings(values, { apiPort: 8089 })
  const timeoutText = get('expect-workers-timeout', 'HORDE_EXPECT_WORKERS_TIMEOUT') ?? '5m'
  const expectTimeoutMs = parseTimerDurationMs(timeoutText)
  if (expectTimeoutMs === undefined || expectTimeoutMs <= 0) {
    fail(
      '--expect-workers-timeout',
      timeoutText,
      `must be a duration such as '2m', at most ${MAX_DURATION_TEXT}`,
    )
  }
  const scenario = await loadScenario(resolve(scenarioArg))
  if (settings.users !== null && settings.users < pods) {
    fail(
      '--pods',
      pods,
      `must not exceed --users (${settings.users}): a worker pod without users measures nothing; lower --pods or raise --users`,
    )
  }
  const plan = buildPlan(scenario, resolve(scenarioArg), settings, { expect: 1, timeoutMs: expectTimeoutMs })
  const peakUsers = plan.stages === null ? plan.users : Math.max(...plan.stages.map((s) => s.users))
  if (peakUsers < pods) {
    fail(
      '--pods',
      pods,
      `must not exceed the run's users (${peakUsers}): a worker pod without users measures nothing; lower --pods or raise --users`,
    )
  }
  const runId = runIdGiven ?? defaultK8sRunId(scenario.name)
  const durationMs = plan.durationMs ?? 0
  const neededMs = expectTimeoutMs + durationMs + plan.stopTimeoutMs + REPORT_MARGIN_MS
  const deadlineText = get('deadline', 'HORDE_K8S_DEADLINE')
  let deadlineMs = neededMs
  if (deadlineText !== undefined) {
    const given = parseDurationMs(deadlineText)
    if (given === undefined || given <= 0) fail('--deadline', deadlineText, "must be a duration such as '2h'")
    if (given < neededMs) {
      fail(
        '--duration',
        formatDurationMs(durationMs),
        `does not fit --deadline ${deadlineText}: the Jobs need the workers' wait (${formatDurationMs(expectTimeoutMs)}) + the duration + the stop timeout (${formatDurationMs(plan.stopTimeoutMs)}) + ${formatDurationMs(REPORT_MARGIN_MS)} for the report = ${formatDurationMs(neededMs)}; shorten --duration or --expect-workers-timeout, or raise --deadline`,
      )
    }
    deadlineMs = given
  }
  const store = get('store', 'HORDE_REPORT_STORE')
  if (store !== undefined && !store.startsWith('gs://')) {
    fail('--store', store, "must be gs://bucket/prefix in a cluster (a pod's folders vanish with it)")
  }
  if (store !== undefined) parseGcsUrl(store)
  const dd = parseK8sDatadog(values, image)

  const config: Record<string, string> = {
    HORDE_SCENARIO: scenarioRel,
    HORDE_RUN_ID: runId,
    HORDE_EXPECT_WORKERS: String(pods),
    HORDE_EXPECT_WORKERS_TIMEOUT: timeoutText,
  }
  const carried: Array<[flag: string, env: string]> = [
    ['users', 'HORDE_USERS'],
    ['spawn-rate', 'HORDE_SPAWN_RATE'],
    ['duration', 'HORDE_DURATION'],
    ['stages', 'HORDE_STAGES'],
    ['rps', 'HORDE_RPS'],
    ['rate-stages', 'HORDE_RATE_STAGES'],
    ['host', 'HORDE_HOST'],
    ['warmup', 'HORDE_WARMUP'],
    ['stop-timeout', 'HORDE_STOP_TIMEOUT'],
    ['log-level', 'HORDE_LOG_LEVEL'],
  ]
  for (const [flag, env] of carried) {
    const v = get(flag, env)
    if (v !== undefined) config[env] = v
  }
  if (store !== undefined) config.HORDE_REPORT_STORE = store
  if (settings.skipHostCheck) config.HORDE_SKIP_HOST_CHECK = 'true'
  Object.assign(config, dd.config)

  const dir = resolve(get('dir', 'HORDE_K8S_DIR') ?? join('horde-k8s', runId))
  const resource = relative(dir, resourceDir).split(sep).join('/')
  const deadlineS = Math.ceil(deadlineMs / 1000)
  return {
    dir,
    kubectl: get('kubectl', 'HORDE_KUBECTL') ?? 'kubectl',
    spec: Object.freeze({
      runId,
      namespace,
      pods,
      image,
      resource,
      config: Object.freeze(config),
      masterDeadlineSeconds: deadlineS,
      // Workers end when the master quits them (or within their master timeout when it is gone).
      workerDeadlineSeconds: deadlineS,
      masterGraceSeconds: Math.ceil(plan.stopTimeoutMs / 1000) + MASTER_GRACE_MARGIN_S,
      workerGraceSeconds: Math.ceil(plan.stopTimeoutMs / 1000) + WORKER_GRACE_MARGIN_S,
      workerNodeFlags: plan.open !== null ? OPEN_MODEL_NODE_FLAGS : [],
      entrypoint: IMAGE_ENTRYPOINT,
      datadog: dd.datadog,
    }),
  }
}
