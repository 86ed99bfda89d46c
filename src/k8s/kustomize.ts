import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { KubeError } from '../shared/errors.js'

/**
 * Renders a kustomization folder with the real `kubectl kustomize` (kustomize 5.x built in). It needs no
 * cluster; KUBECONFIG is pointed nowhere so a stray kubectl default (http://localhost:8080) is never contacted.
 */
export async function renderKustomization(dir: string, kubectl = 'kubectl'): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(kubectl, ['kustomize', dir], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000,
      env: { ...process.env, KUBECONFIG: '/dev/null' },
    })
    return stdout
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT') {
      throw new KubeError(
        'HORDE_ERR_K8S_KUBECTL',
        `${kubectl} was not found: install kubectl 1.27+ (it contains kustomize) or pass --kubectl PATH.`,
      )
    }
    throw new KubeError(
      'HORDE_ERR_K8S_KUSTOMIZE',
      `kubectl kustomize ${dir} failed: ${(e.stderr ?? e.message).trim()}. Fix the overlay named in the message.`,
      { cause: error },
    )
  }
}
