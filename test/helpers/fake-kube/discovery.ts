/**
 * Legacy API discovery (/api, /apis, /api/v1, /apis/<group>/<version>, /version), enough for kubectl to map
 * `job`, `service`, `pod` to REST paths. Aggregated discovery is not offered: kubectl asks for it first and
 * falls back to these documents when the answer is plain JSON.
 */
const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

const resource = (name: string, singularName: string, kind: string, shortNames: string[] = []) => ({
  name,
  singularName,
  namespaced: true,
  kind,
  verbs: VERBS,
  ...(shortNames.length > 0 ? { shortNames } : {}),
})

const GROUPS: Record<string, Array<Record<string, unknown>>> = {
  v1: [
    resource('pods', 'pod', 'Pod', ['po']),
    { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    resource('services', 'service', 'Service', ['svc']),
    {
      name: 'services/proxy',
      singularName: '',
      namespaced: true,
      kind: 'ServiceProxyOptions',
      verbs: ['create', 'delete', 'get', 'patch', 'update'],
    },
    resource('configmaps', 'configmap', 'ConfigMap', ['cm']),
    resource('secrets', 'secret', 'Secret'),
    resource('serviceaccounts', 'serviceaccount', 'ServiceAccount', ['sa']),
  ],
  'batch/v1': [
    resource('jobs', 'job', 'Job'),
    {
      name: 'jobs/status',
      singularName: '',
      namespaced: true,
      kind: 'Job',
      verbs: ['get', 'patch', 'update'],
    },
  ],
  'networking.k8s.io/v1': [resource('networkpolicies', 'networkpolicy', 'NetworkPolicy', ['netpol'])],
}

/** The discovery document for a path, or undefined when the path is not a discovery path. */
export function discovery(path: string, serverAddress: string): unknown {
  const p = path.replace(/\/+$/, '')
  if (p === '/version')
    return { major: '1', minor: '32', gitVersion: 'v1.32.0-fake', platform: 'linux/amd64' }
  if (p === '/api')
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    }
  if (p === '/apis')
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: Object.keys(GROUPS)
        .filter((gv) => gv.includes('/'))
        .map((gv) => {
          const [name, version] = gv.split('/') as [string, string]
          const v = { groupVersion: gv, version }
          return { name, versions: [v], preferredVersion: v }
        }),
    }
  const gv = p === '/api/v1' ? 'v1' : /^\/apis\/([^/]+\/[^/]+)$/.exec(p)?.[1]
  const resources = gv === undefined ? undefined : GROUPS[gv]
  if (resources === undefined) return undefined
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources }
}
