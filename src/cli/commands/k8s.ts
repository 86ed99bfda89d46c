import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, ExitCode, describeValue } from '../../shared/errors.js'
import { kustomizationYaml } from '../../k8s/kustomization.js'
import { renderKustomization } from '../../k8s/kustomize.js'
import { parseFlags } from '../flags.js'
import { LOAD_FLAGS, LOAD_FLAGS_HELP } from '../run-settings.js'
import { parseK8sRender } from '../k8s-settings.js'
import { K8S_DATADOG_HELP } from '../k8s-datadog.js'

const HELP = `Usage: horde k8s render <scenarios/x.ts> --pods K --image IMAGE --users N --duration D [options]

Writes the per-run kustomization (manifests/base, or a team overlay, plus this run's values; every object
named <name>-<run-id>) and prints what \`kubectl kustomize\` renders from it: a master Job + Service, an
Indexed worker Job with K pods, the run's ConfigMap, a ServiceAccount and NetworkPolicies. Apply it with
\`kubectl apply -f -\`. Nothing is written when an input is wrong (exit 104).

Kubernetes:
  --pods K                worker pods (HORDE_PODS); the master waits for all K
  --image IMAGE           the Horde image of this commit, tag or digest (HORDE_IMAGE)
  --namespace NS          (HORDE_NAMESPACE, default default)
  --overlay NAME          a team overlay from manifests/overlays/NAME (HORDE_OVERLAY)
  --store gs://B/P        the master writes result, CSVs and report there (HORDE_REPORT_STORE)
  --deadline D            the Jobs' activeDeadlineSeconds; the run must fit (HORDE_K8S_DEADLINE, default:
                          workers' wait + duration + stop timeout + 2m)
  --expect-workers-timeout D  how long the master waits for the pods (HORDE_EXPECT_WORKERS_TIMEOUT, default 5m)
  --dir DIR               where the kustomization goes (HORDE_K8S_DIR, default ./horde-k8s/<run-id>)
  --manifests DIR         the manifests folder (HORDE_K8S_MANIFESTS, default this package's manifests/)
  --kubectl PATH          kubectl to render with (HORDE_KUBECTL, default kubectl)
${K8S_DATADOG_HELP}
${LOAD_FLAGS_HELP.replace(/\n {2}--out DIR[^\n]*/, '').replace(/\n {2}--api-(host|port|token)[^\n]*/g, '')}`

export async function k8sCommand(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv
  if (verb === undefined || verb === '--help' || verb === '-h') {
    process.stdout.write(`${HELP}\n`)
    return verb === undefined ? ExitCode.invalidInput : ExitCode.pass
  }
  if (verb !== 'render') {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `horde k8s knows one verb, render, received ${describeValue(verb)}. Example: horde k8s render scenarios/demo.ts --pods 3 --image ghcr.io/acme/horde:3f2a1c0 --users 30 --duration 5m`,
    )
  }
  const { out: _out, 'api-host': _h, 'api-port': _p, 'api-token': _t, ...load } = LOAD_FLAGS
  const { values, positionals } = parseFlags('k8s render', rest, {
    ...load,
    pods: { type: 'string' },
    image: { type: 'string' },
    namespace: { type: 'string' },
    overlay: { type: 'string' },
    store: { type: 'string' },
    deadline: { type: 'string' },
    'expect-workers-timeout': { type: 'string' },
    'dd-env': { type: 'string' },
    'dd-service': { type: 'string' },
    'dd-version': { type: 'string' },
    'dd-agent': { type: 'string' },
    trace: { type: 'boolean' },
    'trace-sample': { type: 'string' },
    dir: { type: 'string' },
    manifests: { type: 'string' },
    kubectl: { type: 'string' },
  })
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`)
    return ExitCode.pass
  }
  const settings = await parseK8sRender(values, positionals)
  await mkdir(settings.dir, { recursive: true })
  await writeFile(join(settings.dir, 'kustomization.yaml'), kustomizationYaml(settings.spec))
  const rendered = await renderKustomization(settings.dir, settings.kubectl)
  process.stderr.write(
    `horde k8s render: run ${settings.spec.runId}: ${settings.spec.pods} worker pod(s) in namespace ${settings.spec.namespace}; kustomization in ${settings.dir}\n`,
  )
  process.stdout.write(rendered)
  return ExitCode.pass
}
