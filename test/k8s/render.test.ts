/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment --
   rendered manifests are parsed YAML; schemaErrors() checks their shape against the Kubernetes schemas, and these
   checks read them as plain data. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { IMAGE_ENTRYPOINT } from '../../src/k8s/image.js'
import { OPEN_MODEL_NODE_FLAGS } from '../../src/cli/worker-node-flags.js'
import { find, renderRun, schemaErrors, REPO_ROOT, type K8sObject } from '../helpers/k8s-render.js'
import { ruleViolations } from './render-rules.js'

const IMAGE = 'ghcr.io/acme/horde:3f2a1c0'
let tmp: string
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'horde-k8s-render-'))
  return () => rmSync(tmp, { recursive: true, force: true })
})
const dirFor = (name: string): string => join(tmp, name)

interface Case {
  name: string
  args: string[]
  env?: NodeJS.ProcessEnv
  runId: string
  namespace: string
  pods: number
  minDeadlineSeconds: number
  stopTimeoutSeconds: number
  ddVersion: string
}

// wait for workers (default 5m) + duration + stop timeout + 2m for the report
const CASES: Case[] = [
  {
    name: 'closed model on the base, flags only',
    args: [
      'scenarios/demo.ts',
      '--pods',
      '3',
      '--image',
      IMAGE,
      '--users',
      '30',
      '--duration',
      '5m',
      '--run-id',
      'c1',
    ],
    runId: 'c1',
    namespace: 'default',
    pods: 3,
    minDeadlineSeconds: 300 + 300 + 2 + 120,
    stopTimeoutSeconds: 2,
    ddVersion: '3f2a1c0',
  },
  {
    name: 'team overlay, namespace, store, stages and a long stop timeout',
    args: [
      'scenarios/demo.ts',
      '--pods',
      '5',
      '--image',
      `ghcr.io/acme/horde@sha256:${'a'.repeat(64)}`,
      '--overlay',
      'example-team',
      '--namespace',
      'team-a',
      '--stages',
      '1m:50:5,10m:100,1m:0',
      '--stop-timeout',
      '30s',
      '--store',
      'gs://team-a-reports/load',
      '--run-id',
      'checkout-20261203-101500-ab12',
      '--expect-workers-timeout',
      '2m',
    ],
    runId: 'checkout-20261203-101500-ab12',
    namespace: 'team-a',
    pods: 5,
    minDeadlineSeconds: 120 + 720 + 30 + 120,
    stopTimeoutSeconds: 30,
    ddVersion: 'a'.repeat(12),
  },
  {
    name: 'open model from HORDE_* variables, a deadline with room, a 40-character run id',
    args: ['scenarios/demo.ts'],
    env: {
      HORDE_PODS: '2',
      HORDE_IMAGE: 'registry.local:5000/load/horde:v1.2.3',
      HORDE_RPS: '200',
      HORDE_DURATION: '10m',
      HORDE_NAMESPACE: 'load',
      HORDE_RUN_ID: 'r'.repeat(40),
      HORDE_K8S_DEADLINE: '1h',
      HORDE_API_TOKEN: 'must-not-appear-in-the-configmap',
    },
    runId: 'r'.repeat(40),
    namespace: 'load',
    pods: 2,
    minDeadlineSeconds: 3600,
    stopTimeoutSeconds: 2,
    ddVersion: 'v1.2.3',
  },
]

describe('horde k8s render (real kubectl kustomize, Kubernetes schemas from kubernetes-models)', () => {
  for (const c of CASES) {
    it(`${c.name}: every object valid, every rule holds`, async () => {
      const r = await renderRun([...c.args, '--dir', dirFor(c.runId)], c.env)
      expect(r.code, r.stderr).toBe(0)
      expect(schemaErrors(r.objects)).toEqual([])
      expect(ruleViolations(r.objects, c)).toEqual([])
      expect(r.stdout).not.toContain('must-not-appear')
      expect(existsSync(join(dirFor(c.runId), 'kustomization.yaml'))).toBe(true)
    })
  }

  it('the rule checks catch a broken manifest (they are not vacuous)', async () => {
    const c = CASES[0] as Case
    const r = await renderRun([...c.args, '--dir', dirFor('tampered')])
    const master = find(r.objects, 'Job', 'horde-master-')
    master.spec.template.spec.terminationGracePeriodSeconds = 5
    master.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false
    master.spec.template.spec.containers[0].resources.limits.cpu = '2'
    find(r.objects, 'Service', 'horde-master-').spec.selector['horde.dev/run-id'] = 'other'
    expect(ruleViolations(r.objects, c)).toEqual([
      'master Job grace 5 < stop timeout + 15 s',
      'master Job container master: requests != limits (not Guaranteed QoS)',
      'master Job container master: root filesystem writable',
      'Service selects pods of other runs',
      'Service selector does not match the master pods',
    ])
    find(r.objects, 'Job', 'horde-worker-').spec.parallelism = 2
    expect(schemaErrors(r.objects)).toEqual([])
    find(r.objects, 'Job', 'horde-worker-').spec.parallelism = 'eight'
    expect(schemaErrors(r.objects).join()).toMatch(/parallelism must be integer/)
  })

  it('carries the run values into the ConfigMap and the image into both Jobs', async () => {
    const r = await renderRun([...(CASES[1] as Case).args, '--dir', dirFor('values')])
    expect(r.code, r.stderr).toBe(0)
    const data = find(r.objects, 'ConfigMap', 'horde-run-').data as Record<string, string>
    expect(data).toMatchObject({
      HORDE_SCENARIO: 'scenarios/demo.ts',
      HORDE_STAGES: '1m:50:5,10m:100,1m:0',
      HORDE_STOP_TIMEOUT: '30s',
      HORDE_REPORT_STORE: 'gs://team-a-reports/load',
      HORDE_EXPECT_WORKERS: '5',
      HORDE_EXPECT_WORKERS_TIMEOUT: '2m',
    })
    for (const job of r.objects.filter((o) => o.kind === 'Job')) {
      expect(job.spec.template.spec.containers[0].image).toBe(`ghcr.io/acme/horde@sha256:${'a'.repeat(64)}`)
    }
    // The overlay's values survive the run's merge.
    const worker = find(r.objects, 'Job', 'horde-worker-')
    expect(worker.spec.template.spec.nodeSelector).toEqual({ 'cloud.google.com/gke-nodepool': 'loadgen' })
    expect(data.HORDE_API_HOST).toBe('0.0.0.0')
  })

  it('two runs in one namespace share no object name', async () => {
    const names = async (runId: string): Promise<string[]> => {
      const r = await renderRun([
        'scenarios/demo.ts',
        '--pods',
        '2',
        '--image',
        IMAGE,
        '-u',
        '4',
        '-t',
        '1m',
        '--run-id',
        runId,
        '--dir',
        dirFor(`n-${runId}`),
      ])
      expect(r.code, r.stderr).toBe(0)
      return r.objects.map((o: K8sObject) => `${o.kind}/${o.metadata.name}`)
    }
    const [a, b] = [await names('run-a'), await names('run-b')]
    expect(a).toHaveLength(7)
    expect(a.filter((n) => b.includes(n))).toEqual([])
  })

  it('open-model workers start node with the flags horde run gives its local workers; the image starts the same script', async () => {
    const r = await renderRun([
      'scenarios/demo.ts',
      '--pods',
      '2',
      '--image',
      IMAGE,
      '--rps',
      '500',
      '-t',
      '1m',
      '--run-id',
      'open',
      '--dir',
      dirFor('open'),
    ])
    expect(r.code, r.stderr).toBe(0)
    const worker = find(r.objects, 'Job', 'horde-worker-').spec.template.spec.containers[0]
    expect(worker.command).toEqual([IMAGE_ENTRYPOINT[0], ...OPEN_MODEL_NODE_FLAGS, IMAGE_ENTRYPOINT[1]])
    expect(worker.args).toEqual(['worker'])
    // Closed-model workers keep the image's entrypoint (V8 defaults use less memory per idle user).
    const closed = await renderRun([
      'scenarios/demo.ts',
      '--pods',
      '2',
      '--image',
      IMAGE,
      '-u',
      '4',
      '-t',
      '1m',
      '--run-id',
      'closed',
      '--dir',
      dirFor('closed'),
    ])
    expect(
      find(closed.objects, 'Job', 'horde-worker-').spec.template.spec.containers[0].command,
    ).toBeUndefined()
    const entrypoint = /^ENTRYPOINT (.+)$/m.exec(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'))?.[1]
    expect(JSON.parse(entrypoint ?? 'null')).toEqual([...IMAGE_ENTRYPOINT])
  })

  it('Datadog: tracing and its sample in the ConfigMap, one env/service/version on labels and DD_*, another agent host or none', async () => {
    const base = ['scenarios/demo.ts', '--pods', '2', '--image', IMAGE, '-u', '4', '-t', '1m']
    const traced = await renderRun([
      ...base,
      '--run-id',
      'dd1',
      '--dir',
      dirFor('dd1'),
      '--trace-sample',
      '0.05',
      '--dd-env',
      'perf',
      '--dd-service',
      'checkout-load',
      '--dd-version',
      '1a2b3c4d5e6f',
      '--dd-agent',
      'datadog-agent.datadog.svc.cluster.local',
    ])
    expect(traced.code, traced.stderr).toBe(0)
    expect(schemaErrors(traced.objects)).toEqual([])
    expect(find(traced.objects, 'ConfigMap', 'horde-run-').data).toMatchObject({
      HORDE_TRACE: '1',
      HORDE_TRACE_SAMPLE: '0.05',
      DD_TRACE_AGENT_PORT: '8126',
      DD_DOGSTATSD_PORT: '8125',
    })
    for (const job of traced.objects.filter((o) => o.kind === 'Job')) {
      const pod = job.spec.template
      expect(pod.metadata.labels).toMatchObject({
        'tags.datadoghq.com/env': 'perf',
        'tags.datadoghq.com/service': 'checkout-load',
        'tags.datadoghq.com/version': '1a2b3c4d5e6f',
      })
      const env = pod.spec.containers[0].env as Array<{ name: string; value?: string; valueFrom?: unknown }>
      // The one DD_AGENT_HOST is the named host, with no fieldRef left beside it.
      expect(env.filter((e) => e.name === 'DD_AGENT_HOST')).toEqual([
        { name: 'DD_AGENT_HOST', value: 'datadog-agent.datadog.svc.cluster.local' },
      ])
    }
    // off: no agent anywhere, so neither metrics nor traces are sent; tracing was not asked for.
    const off = await renderRun([...base, '--run-id', 'dd2', '--dir', dirFor('dd2'), '--dd-agent', 'off'])
    expect(off.code, off.stderr).toBe(0)
    expect(schemaErrors(off.objects)).toEqual([])
    for (const job of off.objects.filter((o) => o.kind === 'Job')) {
      const names = (job.spec.template.spec.containers[0].env as Array<{ name: string }>).map((e) => e.name)
      expect(names).not.toContain('DD_AGENT_HOST')
      expect(names).toContain('DD_ENV')
    }
    expect(find(off.objects, 'ConfigMap', 'horde-run-').data.HORDE_TRACE).toBeUndefined()
  })

  const BAD: Array<[string, string[], RegExp]> = [
    [
      'tracing with no agent',
      ['--pods', '2', '-u', '4', '--trace', '--dd-agent', 'off'],
      /--trace needs a Datadog agent, but --dd-agent is off: .*received true/,
    ],
    [
      'an agent that is not a host name',
      ['--pods', '2', '-u', '4', '--dd-agent', 'http://agent:8126'],
      /--dd-agent must be node .*, off, or the agent's host name.*received "http:\/\/agent:8126"/,
    ],
    [
      'a trace sample above 1',
      ['--pods', '2', '-u', '4', '--trace-sample', '5'],
      /--trace-sample must be the share of requests to trace, .*received "5"/,
    ],
    [
      'a version that is not a label value',
      ['--pods', '2', '-u', '4', '--dd-version', 'v 1'],
      /--dd-version must be a Kubernetes label value .*received "v 1"/,
    ],
    [
      '0 pods',
      ['--pods', '0', '-u', '4'],
      /--pods must be a whole number of worker pods from 1 to 1000, received "0"/,
    ],
    [
      'users < pods',
      ['--pods', '5', '-u', '3'],
      /--pods must not exceed --users \(3\).*lower --pods or raise --users, received 5/,
    ],
    [
      'stages peaking below the pods',
      ['--pods', '5', '--stages', '1m:2,1m:4'],
      /--pods must not exceed the run's users \(4\)/,
    ],
    [
      'an unknown overlay',
      ['--pods', '2', '-u', '4', '--overlay', 'nobody'],
      /--overlay must name a folder .*known: .*example-team.*received "nobody"/,
    ],
    [
      'a run id that is not a DNS label',
      ['--pods', '2', '-u', '4', '--run-id', 'Run_1'],
      /--run-id must be a DNS label .*received "Run_1"/,
    ],
    [
      'a run id too long for the pod names',
      ['--pods', '2', '-u', '4', '--run-id', 'a'.repeat(41)],
      /--run-id must be a DNS label of at most 40/,
    ],
    [
      'a duration that does not fit the deadline',
      ['--pods', '2', '-u', '4', '--deadline', '8m'],
      /--duration does not fit --deadline 8m: .* = 8m2s; .*received "1m"/,
    ],
    [
      'a bad image',
      ['--pods', '2', '-u', '4', '--image', 'Not An Image'],
      /--image must be an image reference .*received "Not An Image"/,
    ],
    [
      'a bad namespace',
      ['--pods', '2', '-u', '4', '--namespace', 'Team_A'],
      /--namespace must be a Kubernetes namespace name/,
    ],
    [
      'a folder store in a cluster',
      ['--pods', '2', '-u', '4', '--store', '/tmp/reports'],
      /--store must be gs:\/\/bucket\/prefix in a cluster/,
    ],
    [
      'a bucket name GCS refuses',
      ['--pods', '2', '-u', '4', '--store', 'gs://Team_Reports/x'],
      /--store must be a folder or gs:\/\/bucket\/prefix, received "gs:\/\/Team_Reports\/x"/,
    ],
  ]
  for (const [what, flags, message] of BAD) {
    it(`exits 104 before rendering for ${what}`, async () => {
      const dir = dirFor(`bad-${what.replace(/\W+/g, '-')}`)
      const r = await renderRun([
        'scenarios/demo.ts',
        '--image',
        IMAGE,
        '-t',
        '1m',
        '--expect-workers-timeout',
        '5m',
        '--dir',
        dir,
        ...flags,
      ])
      expect(r.code).toBe(104)
      expect(r.stderr).toMatch(message)
      expect(r.stdout).toBe('')
      expect(existsSync(dir)).toBe(false)
    })
  }

  it('exits 104 for a scenario the image does not bake in', async () => {
    const r = await renderRun([
      'test/helpers/scenarios/vote.ts',
      '--pods',
      '1',
      '--image',
      IMAGE,
      '-u',
      '1',
      '-t',
      '1m',
    ])
    expect(r.code).toBe(104)
    expect(r.stderr).toMatch(
      /<scenario> must be a file under scenarios\/ .*received "test\/helpers\/scenarios\/vote.ts"/,
    )
  })
})
