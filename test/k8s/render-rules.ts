/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument --
   rendered manifests are parsed YAML; schemaErrors() checks their shape against the Kubernetes schemas, and these
   checks read them as plain data. */
import type { K8sObject } from '../helpers/k8s-render.js'

export interface Expected {
  runId: string
  namespace: string
  pods: number
  /** The least activeDeadlineSeconds that lets the run finish (wait + duration + stop + report). */
  minDeadlineSeconds: number
  stopTimeoutSeconds: number
  /** Datadog's version tag: the image's tag, or its digest's first 12 hex digits. */
  ddVersion: string
}

/**
 * The rules of issue 12 for a rendered run, as a list of violations (empty = all hold), so one failing
 * check names every broken rule at once.
 */
export function ruleViolations(objects: K8sObject[], x: Expected): string[] {
  const bad: string[] = []
  const check = (ok: boolean, what: string): void => {
    if (!ok) bad.push(what)
  }
  const kinds = objects.map((o) => o.kind).sort()
  check(
    JSON.stringify(kinds) ===
      JSON.stringify([
        'ConfigMap',
        'Job',
        'Job',
        'NetworkPolicy',
        'NetworkPolicy',
        'Service',
        'ServiceAccount',
      ]),
    `kinds: ${kinds.join(',')}`,
  )
  const byKind = (kind: string): K8sObject[] => objects.filter((o) => o.kind === kind)
  const configMap = byKind('ConfigMap')[0]
  const service = byKind('Service')[0]
  const account = byKind('ServiceAccount')[0]
  const master = byKind('Job').find((j) => j.metadata.name === `horde-master-${x.runId}`)
  const worker = byKind('Job').find((j) => j.metadata.name === `horde-worker-${x.runId}`)
  if (!configMap || !service || !account || !master || !worker) return [...bad, 'objects missing']

  for (const o of objects) {
    const name = o.metadata.name
    const suffixed =
      o.kind === 'ConfigMap' ? name.startsWith(`horde-run-${x.runId}-`) : name.endsWith(`-${x.runId}`)
    check(suffixed, `${o.kind} ${name} is not suffixed by the run id`)
    check(o.metadata.namespace === x.namespace, `${o.kind} ${name} namespace ${o.metadata.namespace}`)
    const labels = (o.metadata.labels ?? {}) as Record<string, string>
    check(labels['app.kubernetes.io/name'] === 'horde', `${o.kind} ${name} lacks app.kubernetes.io/name`)
    check(labels['horde.dev/run-id'] === x.runId, `${o.kind} ${name} lacks the run-id label`)
  }
  check(
    !('HORDE_API_TOKEN' in configMap.data) && !('HORDE_JOIN_SECRET' in configMap.data),
    'a secret in the ConfigMap',
  )
  check(configMap.data.HORDE_RUN_ID === x.runId, `ConfigMap HORDE_RUN_ID ${configMap.data.HORDE_RUN_ID}`)
  check(configMap.data.HORDE_EXPECT_WORKERS === String(x.pods), 'HORDE_EXPECT_WORKERS is not the pod count')
  check(
    /^\d+$/.test(configMap.data.DD_TRACE_AGENT_PORT ?? '') &&
      /^\d+$/.test(configMap.data.DD_DOGSTATSD_PORT ?? ''),
    "the Datadog agent's ports are not in the ConfigMap",
  )

  for (const [role, job] of [
    ['master', master],
    ['worker', worker],
  ] as const) {
    const where = `${role} Job`
    const spec = job.spec
    const pod = spec.template.spec
    const podLabels = spec.template.metadata.labels as Record<string, string>
    check(Number.isInteger(spec.backoffLimit), `${where} has no backoffLimit`)
    check(
      spec.activeDeadlineSeconds >= x.minDeadlineSeconds,
      `${where} deadline ${spec.activeDeadlineSeconds}`,
    )
    check(spec.ttlSecondsAfterFinished > 0, `${where} has no ttlSecondsAfterFinished`)
    check(
      pod.terminationGracePeriodSeconds >= x.stopTimeoutSeconds + 15,
      `${where} grace ${pod.terminationGracePeriodSeconds} < stop timeout + 15 s`,
    )
    check(pod.restartPolicy === 'Never', `${where} restartPolicy`)
    check(pod.serviceAccountName === account.metadata.name, `${where} service account`)
    check(pod.automountServiceAccountToken === false, `${where} mounts an API token`)
    check(pod.enableServiceLinks === false, `${where} gets service-link variables`)
    check(pod.securityContext?.runAsNonRoot === true, `${where} may run as root`)
    check(pod.securityContext?.seccompProfile?.type === 'RuntimeDefault', `${where} seccomp`)
    check(podLabels['horde.dev/run-id'] === x.runId, `${where} pods lack the run-id label`)
    check(podLabels['horde.dev/role'] === role, `${where} pods lack the role label`)
    for (const tag of ['env', 'service', 'version']) {
      const key = `tags.datadoghq.com/${tag}`
      check(
        typeof podLabels[key] === 'string' && job.metadata.labels[key] === podLabels[key],
        `${where} ${key}`,
      )
    }
    check(podLabels['tags.datadoghq.com/version'] === x.ddVersion, `${where} version is not the image's`)
    for (const c of pod.containers) {
      const cw = `${where} container ${c.name}`
      check(
        JSON.stringify(c.resources?.requests) === JSON.stringify(c.resources?.limits) &&
          c.resources?.requests?.cpu !== undefined &&
          c.resources?.requests?.memory !== undefined,
        `${cw}: requests != limits (not Guaranteed QoS)`,
      )
      const sc = c.securityContext ?? {}
      check(sc.readOnlyRootFilesystem === true, `${cw}: root filesystem writable`)
      check(sc.allowPrivilegeEscalation === false, `${cw}: privilege escalation allowed`)
      check(JSON.stringify(sc.capabilities?.drop) === '["ALL"]', `${cw}: capabilities not all dropped`)
      check(
        c.envFrom?.some(
          (e: { configMapRef?: { name: string } }) => e.configMapRef?.name === configMap.metadata.name,
        ),
        `${cw}: envFrom does not name the run's ConfigMap`,
      )
      const env = new Map<string, Record<string, unknown>>(
        (c.env ?? []).map((e: { name: string }) => [e.name, e]),
      )
      for (const tag of ['ENV', 'SERVICE', 'VERSION']) {
        const ref = (env.get(`DD_${tag}`)?.valueFrom as { fieldRef?: { fieldPath: string } } | undefined)
          ?.fieldRef
        check(
          ref?.fieldPath === `metadata.labels['tags.datadoghq.com/${tag.toLowerCase()}']`,
          `${cw}: DD_${tag} not from the pod's tag`,
        )
      }
      // Datadog's pattern for its DaemonSet agent: the node's IP, so traces and metrics stay on the node.
      check(
        (env.get('DD_AGENT_HOST')?.valueFrom as { fieldRef?: { fieldPath: string } } | undefined)?.fieldRef
          ?.fieldPath === 'status.hostIP',
        `${cw}: DD_AGENT_HOST not the node's agent`,
      )
      for (const e of c.env ?? []) {
        const secret = e.valueFrom?.secretKeyRef
        if (secret !== undefined) check(secret.optional === true, `${cw}: ${e.name} needs its Secret`)
      }
      check(
        env.get('HORDE_JOIN_SECRET')?.valueFrom !== undefined,
        `${cw}: no HORDE_JOIN_SECRET from a Secret`,
      )
      if (role === 'master') {
        check(env.get('HORDE_API_TOKEN')?.valueFrom !== undefined, `${cw}: no HORDE_API_TOKEN from a Secret`)
        check(
          c.terminationMessagePath !== undefined &&
            env.get('HORDE_TERMINATION_LOG')?.value === c.terminationMessagePath,
          `${cw}: the master does not write to its terminationMessagePath`,
        )
      } else {
        check(
          env.get('HORDE_MASTER_HOST')?.value === service.metadata.name,
          `${cw}: HORDE_MASTER_HOST is not the Service`,
        )
      }
    }
  }
  check(worker.spec.completionMode === 'Indexed', 'worker Job not Indexed')
  check(
    worker.spec.parallelism === x.pods && worker.spec.completions === x.pods,
    `worker parallelism/completions ${worker.spec.parallelism}/${worker.spec.completions} != ${x.pods}`,
  )
  check(master.spec.backoffLimit === 0, 'the master Job retries (a second, different run)')
  const spread = worker.spec.template.spec.topologySpreadConstraints?.[0]
  check(
    spread?.topologyKey === 'kubernetes.io/hostname' &&
      spread.labelSelector?.matchLabels?.['horde.dev/run-id'] === x.runId &&
      spread.labelSelector?.matchLabels?.['horde.dev/role'] === 'worker',
    'workers not spread across nodes by run',
  )
  const masterLabels = master.spec.template.metadata.labels as Record<string, string>
  const selector = service.spec.selector as Record<string, string>
  check(selector['horde.dev/run-id'] === x.runId, 'Service selects pods of other runs')
  check(
    Object.entries(selector).every(([k, v]) => masterLabels[k] === v),
    'Service selector does not match the master pods',
  )
  check(
    JSON.stringify(service.spec.ports.map((p: { port: number }) => p.port).sort()) === '[5557,8089]',
    'Service ports',
  )
  const policies = byKind('NetworkPolicy')
  const workerPolicy = policies.find((p) => p.spec.podSelector.matchLabels['horde.dev/role'] === 'worker')
  check(
    workerPolicy !== undefined &&
      JSON.stringify(workerPolicy.spec.policyTypes) === '["Ingress"]' &&
      (workerPolicy.spec.ingress ?? []).length === 0 &&
      workerPolicy.spec.podSelector.matchLabels['horde.dev/run-id'] === x.runId,
    'something may reach the workers',
  )
  const masterPolicy = policies.find((p) => p.spec.podSelector.matchLabels['horde.dev/role'] === 'master')
  const zmqRule = masterPolicy?.spec.ingress?.find(
    (r: { ports: Array<{ port: number }> }) => r.ports[0]?.port === 5557,
  )
  check(
    zmqRule?.from?.[0]?.podSelector?.matchLabels?.['horde.dev/role'] === 'worker' &&
      zmqRule.from[0].podSelector.matchLabels['horde.dev/run-id'] === x.runId,
    "the master's ZeroMQ port is open to more than this run's workers",
  )
  return bad
}
