import { parseAllDocuments } from 'yaml'
import { KubeError } from '../shared/errors.js'
import { resourcePath, type KubeObject } from './kube-client.js'

/**
 * What `kubectl kustomize` printed for a run, as objects to apply: only kinds Horde knows how to apply (a
 * team overlay that adds anything else fails before anything is applied), a master Job present, and in the
 * order a pod needs them (what it refers to first, the Jobs last).
 */
const ORDER = ['ServiceAccount', 'ConfigMap', 'Secret', 'NetworkPolicy', 'Service', 'Job']

export function parseRendered(yamlText: string): KubeObject[] {
  const objects = parseAllDocuments(yamlText)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object')
  for (const o of objects) resourcePath(o.kind, 'check') // an unknown kind fails before anything is applied
  if (!objects.some((o) => o.kind === 'Job' && o.metadata.labels?.['horde.dev/role'] === 'master'))
    throw new KubeError(
      'HORDE_ERR_K8S_RENDER',
      'the rendered run has no master Job (horde.dev/role: master); check the overlay',
    )
  return objects.sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind))
}
