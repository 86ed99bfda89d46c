import { ConfigError, describeValue } from '../shared/errors.js'
import { imageVersion, type ImageRef } from '../k8s/image.js'
import type { K8sDatadog } from '../k8s/kustomization.js'
import { parseTraceFlags } from '../worker/tracing/trace-settings.js'
import { flagOrEnv } from './flags.js'

export const K8S_DATADOG_HELP = `Datadog (unified service tags on the labels, the pods' DD_* variables, logs, spans and metrics):
  --dd-env E, --dd-service S  (DD_ENV default loadtest, DD_SERVICE default horde)
  --dd-version V          (DD_VERSION, default the image's tag, or its digest's first 12 hex digits)
  --dd-agent A            where traces and live metrics go: node (default: the node's agent, DD_AGENT_HOST from
                          status.hostIP, as for Datadog's DaemonSet), a host name (e.g. a Service), or off
                          (no DD_AGENT_HOST: nothing is sent) (HORDE_DD_AGENT). Live metrics are on whenever
                          there is an agent; its ports are DD_TRACE_AGENT_PORT/DD_DOGSTATSD_PORT in the ConfigMap
  --trace                 workers trace their requests to the agent (HORDE_TRACE=1 in the run's ConfigMap)
  --trace-sample S        share of requests traced, 0 < S ≤ 1 (HORDE_TRACE_SAMPLE; default 0.01; implies --trace)`

const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/
// A DNS name or an IPv4 address: what a pod can put in DD_AGENT_HOST.
const AGENT_HOST = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/

function fail(flag: string, received: unknown, fix: string): never {
  throw new ConfigError('HORDE_ERR_K8S_FLAG', `${flag} ${fix}, received ${describeValue(received)}.`)
}

/**
 * The Datadog part of `horde k8s render`: the unified service tags (one value each, put on the pods' labels,
 * from which the pods' DD_ENV/DD_SERVICE/DD_VERSION come, which logs, spans and metrics read), where the agent
 * is, and the tracing values carried into the run's ConfigMap. Checked before anything is written.
 */
export function parseK8sDatadog(
  values: Record<string, unknown>,
  image: ImageRef,
): { datadog: K8sDatadog; config: Record<string, string> } {
  const get = (flag: string, env: string): string | undefined => flagOrEnv(values, flag, env)
  const env = get('dd-env', 'DD_ENV') ?? 'loadtest'
  const service = get('dd-service', 'DD_SERVICE') ?? 'horde'
  const version = get('dd-version', 'DD_VERSION') ?? imageVersion(image)
  for (const [flag, v] of [
    ['--dd-env', env],
    ['--dd-service', service],
    ['--dd-version', version],
  ] as const) {
    if (!LABEL_VALUE.test(v)) {
      fail(flag, v, 'must be a Kubernetes label value (letters, digits, "-", "_", "." up to 63 characters)')
    }
  }
  const agentText = get('dd-agent', 'HORDE_DD_AGENT') ?? 'node'
  if (agentText !== 'node' && agentText !== 'off' && !AGENT_HOST.test(agentText)) {
    fail(
      '--dd-agent',
      agentText,
      "must be node (the node's Datadog agent), off, or the agent's host name, e.g. datadog-agent.datadog.svc.cluster.local",
    )
  }
  let trace
  try {
    trace = parseTraceFlags(values.trace === true, get('trace-sample', 'HORDE_TRACE_SAMPLE'))
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError('HORDE_ERR_K8S_FLAG', error.message)
    throw error
  }
  if (trace.on && agentText === 'off') {
    fail(
      '--trace',
      trace.sample ?? true,
      "needs a Datadog agent, but --dd-agent is off: drop --dd-agent off (the node's agent) or name the agent's host",
    )
  }
  const config: Record<string, string> = {}
  if (trace.on) config.HORDE_TRACE = '1'
  if (trace.sample !== null) config.HORDE_TRACE_SAMPLE = String(trace.sample)
  return {
    datadog: Object.freeze({ env, service, version, agent: agentText }),
    config,
  }
}
