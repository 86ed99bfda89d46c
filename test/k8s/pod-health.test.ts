import { describe, expect, it } from 'vitest'
import type { KubeObject } from '../../src/k8s/kube-client.js'
import { infrastructureFailure } from '../../src/k8s/pod-health.js'

// The cases the loopback API does not play in the action's end-to-end tests (those cover image pull,
// unschedulable and OOMKilled): a Job past its deadline, crash-looping workers, a pod pending with no
// scheduling condition, and a healthy run that must not be called invalid.

const pod = (name: string, role: string, status: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { 'horde.dev/role': role } },
  status,
})
const job = (name: string, role: string, conditions: unknown[]): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, labels: { 'horde.dev/role': role } },
  status: { conditions },
})
const running = (name: string, role = 'worker') =>
  pod(name, role, { phase: 'Running', containerStatuses: [{ name: role, state: { running: {} } }] })
const exited = (name: string, exitCode: number, message = '') =>
  pod(name, 'worker', {
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    containerStatuses: [{ name: 'worker', state: { terminated: { exitCode, reason: 'Error', message } } }],
  })
const check = (pods: KubeObject[], jobs: KubeObject[] = [], pendingSinceMs = new Map<string, number>()) =>
  infrastructureFailure({ pods, jobs, pendingSinceMs, nowMs: 100_000, pendingLimitMs: 60_000 })

describe('infrastructureFailure', () => {
  it('a healthy run, and one worker replaced once, are not infrastructure failures', () => {
    expect(check([running('m', 'master'), running('w-0'), running('w-1')])).toBeNull()
    expect(check([running('m', 'master'), exited('w-0', 137), running('w-0b')])).toBeNull()
    expect(check([running('m', 'master'), exited('w-0', 0), exited('w-1', 0)])).toBeNull()
  })

  it('workers crashing twice: crash-looping, with the last exit code and message', () => {
    expect(check([exited('w-0', 1), exited('w-0b', 1, 'TypeError: boom')])).toBe(
      '2 worker pods crashed (last: exit 1, TypeError: boom); see the worker logs',
    )
  })

  it("a Job past its deadline: the master's deadline, said as such", () => {
    expect(
      check(
        [running('m', 'master')],
        [job('horde-master-r1', 'master', [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }])],
      ),
    ).toMatch(/^the master Job horde-master-r1 passed its deadline \(activeDeadlineSeconds\)/)
  })

  it('pending past the limit, scheduled or not, but not before', () => {
    const pending = pod('w-0', 'worker', { phase: 'Pending' })
    expect(check([pending], [], new Map([['w-0', 50_000]]))).toBeNull()
    expect(check([pending], [], new Map([['w-0', 40_000]]))).toBe(
      'the worker pod w-0 stayed pending for 60 s; see kubectl describe pod w-0',
    )
  })
})
