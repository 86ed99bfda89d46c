import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createKubeClient } from '../../src/k8s/kube-client.js'
import { kubeconfigPath, loadKubeAccess } from '../../src/k8s/kubeconfig.js'
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/fake-kube-api.js'

// The action's Kubernetes client against the loopback API over https, with the credentials a runner's
// kubeconfig carries after google-github-actions/get-gke-credentials: the gcp auth-provider (an expired
// access token refreshed by running its cmd-path), an exec plugin, and a token that gcloud rewrites in place
// (a 401 re-reads the file) — what keeps a wait of more than an hour working.

const TOKEN = 'fresh-token-after-refresh'
let kube: FakeKubeApi
let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'horde-kubeconfig-'))
  kube = await startFakeKubeApi({ images: {}, tls: true, token: TOKEN })
})
afterEach(async () => {
  await kube.close()
  await rm(dir, { recursive: true, force: true })
})

async function kubeconfig(user: Record<string, unknown>): Promise<string> {
  const path = join(dir, 'config')
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'gke',
          cluster: {
            server: kube.url,
            'certificate-authority-data': Buffer.from(kube.caCert ?? '').toString('base64'),
          },
        },
      ],
      users: [{ name: 'gke-user', user }],
      contexts: [{ name: 'gke', context: { cluster: 'gke', user: 'gke-user', namespace: 'loadtest' } }],
      'current-context': 'gke',
    }),
  )
  return path
}

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, body)
  return path
}

describe('kubeconfig credentials', () => {
  it('gcp auth-provider: an expired access token is refreshed with cmd-path, read at token-key', async () => {
    const gcloud = await script(
      'gcloud.mjs',
      `process.stdout.write(JSON.stringify({ credential: { access_token: '${TOKEN}', token_expiry: new Date(Date.now() + 3600e3).toISOString() } }))`,
    )
    const access = loadKubeAccess(
      await kubeconfig({
        'auth-provider': {
          name: 'gcp',
          config: {
            'access-token': 'expired-token',
            expiry: '2020-01-01T00:00:00Z',
            'cmd-path': process.execPath,
            'cmd-args': gcloud,
            'token-key': '{.credential.access_token}',
            'expiry-key': '{.credential.token_expiry}',
          },
        },
      }),
    )
    expect(access.namespace).toBe('loadtest')
    const client = createKubeClient(access)
    try {
      expect(await client.list('Job', 'loadtest', 'horde.dev/run-id=x')).toEqual([])
    } finally {
      await client.close()
    }
  })

  it('exec plugin (gke-gcloud-auth-plugin): the ExecCredential status.token', async () => {
    const plugin = await script(
      'plugin.mjs',
      `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: process.env.THE_TOKEN, expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() } }))`,
    )
    const client = createKubeClient(
      loadKubeAccess(
        await kubeconfig({
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: process.execPath,
            args: [plugin],
            env: [{ name: 'THE_TOKEN', value: TOKEN }],
          },
        }),
      ),
    )
    try {
      expect(await client.list('Pod', 'loadtest', 'a=b')).toEqual([])
    } finally {
      await client.close()
    }
  })

  it('a 401 re-reads the kubeconfig (rewritten by a refresh meanwhile) and retries once', async () => {
    const path = await kubeconfig({ token: 'stale-token' })
    const access = loadKubeAccess(path)
    await kubeconfig({ token: TOKEN })
    const client = createKubeClient(access)
    try {
      expect(await client.list('Service', 'loadtest', 'a=b')).toEqual([])
      const calls = kube.requests.filter((r) => r.startsWith('GET /api/v1/namespaces/loadtest/services'))
      expect(calls).toHaveLength(2)
    } finally {
      await client.close()
    }
  })

  it('credentials refused for good: a clear error with the fix, not a retry loop', async () => {
    const client = createKubeClient(loadKubeAccess(await kubeconfig({ token: 'wrong' })))
    try {
      await expect(client.list('Job', 'loadtest', 'a=b')).rejects.toThrow(
        /GET \/apis\/batch\/v1\/namespaces\/loadtest\/jobs → HTTP 401: Unauthorized\. The cluster credentials were refused: re-run get-gke-credentials\./,
      )
    } finally {
      await client.close()
    }
  })

  it('no kubeconfig: says which step is missing', () => {
    expect(() => kubeconfigPath({ KUBECONFIG: join(dir, 'absent') })).toThrow(
      /no kubeconfig found .*Run google-github-actions\/get-gke-credentials/,
    )
  })
})
