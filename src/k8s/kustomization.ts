import { stringify } from 'yaml'
import { BASE_IMAGE_NAME, type ImageRef } from './image.js'

/** Everything one run's kustomization needs, validated by the CLI (src/cli/k8s-settings.ts). */
export interface RunSpec {
  runId: string
  namespace: string
  pods: number
  image: ImageRef
  /** The base or team overlay, relative to the folder the kustomization is written to. */
  resource: string
  /** HORDE_* values merged into the horde-run ConfigMap (read by master and workers). */
  config: Readonly<Record<string, string>>
  masterDeadlineSeconds: number
  workerDeadlineSeconds: number
  masterGraceSeconds: number
  workerGraceSeconds: number
  /** Node flags for the workers (open model), or none. */
  workerNodeFlags: readonly string[]
  entrypoint: readonly string[]
  datadog: K8sDatadog
}

/** Datadog's unified service tags of the run, and where its agent is: 'node' (status.hostIP), 'off', or a host. */
export interface K8sDatadog {
  readonly env: string
  readonly service: string
  readonly version: string
  readonly agent: string
}

const RUN_ID_LABEL = 'horde.dev/run-id'

/**
 * The per-run kustomization: names suffixed by the run id (concurrent runs in one namespace never collide),
 * a run-id label on everything and in every selector, the run's values, and the master Service's final name
 * in the workers' HORDE_MASTER_HOST. The replacement lives here, not in the base: in the base it would run
 * before the suffix and give the workers the unsuffixed name.
 */
export function buildKustomization(spec: RunSpec): Record<string, unknown> {
  const master = { kind: 'Job', name: 'horde-master' }
  const worker = { kind: 'Job', name: 'horde-worker' }
  const image: Record<string, string> = { name: BASE_IMAGE_NAME, newName: spec.image.newName }
  if (spec.image.newTag !== undefined) image.newTag = spec.image.newTag
  if (spec.image.digest !== undefined) image.digest = spec.image.digest
  const workerOps: object[] = [
    { op: 'replace', path: '/spec/parallelism', value: spec.pods },
    { op: 'replace', path: '/spec/completions', value: spec.pods },
    // One replacement per worker pod; a worker killed more often than that ends the Job.
    { op: 'replace', path: '/spec/backoffLimit', value: spec.pods },
    { op: 'replace', path: '/spec/activeDeadlineSeconds', value: spec.workerDeadlineSeconds },
    {
      op: 'replace',
      path: '/spec/template/spec/terminationGracePeriodSeconds',
      value: spec.workerGraceSeconds,
    },
    // kustomize's label transformer does not reach topology spread selectors: spread this run's workers.
    {
      op: 'add',
      path: `/spec/template/spec/topologySpreadConstraints/0/labelSelector/matchLabels/${RUN_ID_LABEL.replace('/', '~1')}`,
      value: spec.runId,
    },
  ]
  if (spec.workerNodeFlags.length > 0) {
    // Node reads these only at start and refuses --single-threaded-gc in NODE_OPTIONS: they go on the command.
    const [node, ...script] = spec.entrypoint
    workerOps.push({
      op: 'add',
      path: '/spec/template/spec/containers/0/command',
      value: [node, ...spec.workerNodeFlags, ...script],
    })
  }
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: spec.namespace,
    nameSuffix: `-${spec.runId}`,
    resources: [spec.resource],
    labels: [
      { pairs: { [RUN_ID_LABEL]: spec.runId }, includeSelectors: true },
      {
        pairs: {
          'tags.datadoghq.com/env': spec.datadog.env,
          'tags.datadoghq.com/service': spec.datadog.service,
          'tags.datadoghq.com/version': spec.datadog.version,
          'app.kubernetes.io/version': spec.datadog.version,
        },
        includeTemplates: true,
      },
    ],
    images: [image],
    configMapGenerator: [
      {
        name: 'horde-run',
        behavior: 'merge',
        literals: Object.entries(spec.config).map(([k, v]) => `${k}=${v}`),
      },
    ],
    patches: [
      ...agentPatches(spec.datadog.agent),
      {
        target: master,
        patch: stringify([
          { op: 'replace', path: '/spec/activeDeadlineSeconds', value: spec.masterDeadlineSeconds },
          {
            op: 'replace',
            path: '/spec/template/spec/terminationGracePeriodSeconds',
            value: spec.masterGraceSeconds,
          },
        ]),
      },
      { target: worker, patch: stringify(workerOps) },
    ],
    replacements: [
      {
        source: { kind: 'Service', name: 'horde-master', fieldPath: 'metadata.name' },
        targets: [
          {
            select: worker,
            fieldPaths: ['spec.template.spec.containers.[name=worker].env.[name=HORDE_MASTER_HOST].value'],
          },
        ],
      },
    ],
  }
}

/**
 * The base sets DD_AGENT_HOST from the node's IP (Datadog's DaemonSet pattern). Another agent host replaces it;
 * off deletes it, so neither live metrics nor traces have anywhere to go. Strategic merge on the env entry
 * (merge key: name), so a team overlay's own DD_AGENT_HOST is replaced rather than duplicated.
 */
function agentPatches(agent: string): object[] {
  if (agent === 'node') return []
  const entry =
    agent === 'off'
      ? { name: 'DD_AGENT_HOST', $patch: 'delete' }
      : { name: 'DD_AGENT_HOST', value: agent, valueFrom: null }
  return (['master', 'worker'] as const).map((role) => ({
    patch: stringify({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: `horde-${role}` },
      spec: { template: { spec: { containers: [{ name: role, env: [entry] }] } } },
    }),
  }))
}

/** The kustomization.yaml text, with a header saying where it came from. */
export function kustomizationYaml(spec: RunSpec): string {
  return `# Written by \`horde k8s render\` for run ${spec.runId}; render again rather than editing it.\n${stringify(buildKustomization(spec), { aliasDuplicateObjects: false })}`
}
