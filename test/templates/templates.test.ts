import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HORDE_BIN, REPO_ROOT } from '../helpers/horde-cli.js'
import { find, renderRun, schemaErrors } from '../helpers/k8s-render.js'
import { templateDescription } from '../../src/cli/template-catalog.js'
import { startTemplateTarget, type TemplateTarget } from '../helpers/template-target.js'

/**
 * Every template as a user gets it: `horde new` copies it into a fresh project that has Horde installed
 * (node_modules/horde → this package), tsc type-checks the copy with the user's settings, and `horde run`
 * runs it for a few seconds against a loopback target that speaks what the template expects.
 */
const run = promisify(execFile)

interface CliResult {
  code: number
  stdout: string
  stderr: string
}

async function horde(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [HORDE_BIN, ...args], {
      cwd,
      env: { ...process.env, HORDE_LOG_LEVEL: 'warn', ...env },
      timeout: 90_000,
      maxBuffer: 16 * 1024 * 1024,
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

/** The four templates this suite knows how to serve; others (databases) bring their own tests. */
const KINDS = ['http-api', 'user-flow', 'open-model', 'custom-protocol'] as const

let project: string
let target: TemplateTarget
beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'horde-new-'))
  await mkdir(join(project, 'node_modules'))
  await symlink(REPO_ROOT, join(project, 'node_modules', 'horde'), 'dir')
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'acme-load-tests', type: 'module' }))
  // What a team's repository would use: strict, NodeNext, the package's published types.
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(REPO_ROOT, 'node_modules', '@types')],
      },
      include: ['scenarios'],
    }),
  )
  target = await startTemplateTarget()
})
afterAll(async () => {
  await target?.close()
  if (project !== undefined) await rm(project, { recursive: true, force: true })
})

describe('horde new', () => {
  it('--list shows every templates/*.ts with the first line of its header', async () => {
    const r = await horde(['new', '--list'], project)
    expect(r.code, r.stderr).toBe(0)
    const files = (await readdir(join(REPO_ROOT, 'templates'))).filter((f) => f.endsWith('.ts'))
    expect(files.map((f) => f.slice(0, -3))).toEqual(expect.arrayContaining([...KINDS]))
    const lines = r.stdout.trim().split('\n')
    expect(lines).toHaveLength(files.length)
    for (const file of files) {
      const description = templateDescription(await readFile(join(REPO_ROOT, 'templates', file), 'utf8'))
      // Every template starts with a comment whose first line says what it is for.
      expect(description, file).not.toBe('')
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${file.slice(0, -3)} +`)))
      expect(r.stdout).toContain(description)
    }
  })

  it('copies the scenario and its overlay, fills the name, prints next steps', async () => {
    const r = await horde(['new', 'checkout-api', '--template', 'http-api'], project)
    expect(r.code, r.stderr).toBe(0)
    const scenario = await readFile(join(project, 'scenarios', 'checkout-api.ts'), 'utf8')
    expect(scenario).toMatch(/^\s*name: 'checkout-api',$/m)
    expect(scenario).not.toMatch(/name: 'http-api'/)
    const overlay = await readFile(
      join(project, 'manifests', 'overlays', 'checkout-api', 'kustomization.yaml'),
      'utf8',
    )
    expect(overlay).toContain('--overlay checkout-api')
    expect(overlay).toContain('../../base')
    expect(r.stdout).toContain('horde run scenarios/checkout-api.ts')
    expect(r.stdout).toMatch(/pull request/)
    expect(r.stdout).toMatch(/Run workflow/)
  })

  it('refuses to overwrite, naming the file, and writes nothing (104)', async () => {
    await mkdir(join(project, 'manifests', 'overlays', 'taken'), { recursive: true })
    const r = await horde(['new', 'taken', '--template', 'user-flow'], project)
    expect(r.code).toBe(104)
    expect(r.stderr).toContain('manifests/overlays/taken already exists')
    expect(existsSync(join(project, 'scenarios', 'taken.ts'))).toBe(false)
    const again = await horde(['new', 'checkout-api', '--template', 'user-flow'], project)
    expect(again.code).toBe(104)
    expect(again.stderr).toContain('scenarios/checkout-api.ts already exists')
    expect(await readFile(join(project, 'scenarios', 'checkout-api.ts'), 'utf8')).toContain('Reader')
  })

  it.each([
    ['../escape', 'the test name must be'],
    ['Upper', 'received "Upper"'],
    ['a--b', 'single inner dashes'],
    ['x.ts', 'received "x.ts"'],
    ['x'.repeat(64), '1-63'],
  ])('refuses the unsafe name %s (104)', async (name, message) => {
    const r = await horde(['new', name, '--template', 'http-api'], project)
    expect(r.code).toBe(104)
    expect(r.stderr).toContain(message)
  })

  it('refuses an unknown template, listing the known ones (104)', async () => {
    const r = await horde(['new', 'x', '--template', 'nope'], project)
    expect(r.code).toBe(104)
    expect(r.stderr).toMatch(/--template must name one of .*http-api.*received "nope"/)
  })
})

describe('every template, as a user copy', () => {
  beforeAll(async () => {
    for (const kind of KINDS) {
      const r = await horde(['new', `my-${kind}`, '--template', kind], project)
      expect(r.code, r.stderr).toBe(0)
    }
  }, 120_000)

  it.each(KINDS)(
    '%s: the copied team overlay renders with the real kubectl kustomize into valid objects',
    async (kind) => {
      // The user's repository has the common base beside its overlays.
      if (!existsSync(join(project, 'manifests', 'base'))) {
        await symlink(join(REPO_ROOT, 'manifests', 'base'), join(project, 'manifests', 'base'), 'dir')
      }
      const r = await renderRun([
        'scenarios/demo.ts',
        '--manifests',
        join(project, 'manifests'),
        '--overlay',
        `my-${kind}`,
        '--pods',
        '2',
        '--image',
        'ghcr.io/acme/horde:3f2a1c0',
        '--users',
        '10',
        '--duration',
        '1m',
        '--run-id',
        `t-${kind}`,
        '--dir',
        join(project, 'rendered', kind),
      ])
      expect(r.code, r.stderr).toBe(0)
      expect(schemaErrors(r.objects)).toEqual([])
      // The overlay's worker resources reached the worker Job.
      const worker = find(r.objects, 'Job', 'horde-worker') as unknown as {
        spec: { template: { spec: { containers: Array<{ resources: { limits: { cpu: string } } }> } } }
      }
      expect(worker.spec.template.spec.containers[0]?.resources.limits.cpu).toBe('1')
    },
    60_000,
  )

  it('type-checks with tsc in a project that imports horde', async () => {
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    const r = await run(process.execPath, [tsc, '-p', project], { cwd: project }).then(
      () => ({ code: 0, out: '' }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, out: error.stdout ?? '' }),
    )
    expect(r.out).toBe('')
    expect(r.code).toBe(0)
  }, 120_000)

  it.each(KINDS)(
    '%s runs for a few seconds against its loopback target: requests served, verdict pass',
    async (kind) => {
      const before = [...target.counts().values()].reduce((a, b) => a + b, 0)
      const out = join(project, 'out', kind)
      const r = await horde(
        [
          'run',
          `scenarios/my-${kind}.ts`,
          '--users',
          '4',
          '--spawn-rate',
          '4',
          '--duration',
          '5s',
          '--warmup',
          '1s',
          '--host',
          kind === 'custom-protocol' ? `http://${target.tcpAddress}` : target.url,
          '--out',
          out,
        ],
        project,
        { HORDE_TCP_TARGET: target.tcpAddress },
      )
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
      const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as {
        verdict: string
        config: { scenario: string }
        totals: { requests: number; failures: number }
        endpoints: Array<{ name: string; requests: number }>
      }
      expect(result.verdict).toBe('pass')
      expect(result.config.scenario).toBe(`my-${kind}`)
      expect(result.totals.requests).toBeGreaterThan(0)
      expect(result.totals.failures).toBe(0)
      const after = [...target.counts().values()].reduce((a, b) => a + b, 0)
      // Everything the run counted reached the target (custom-protocol also records its TCP connects).
      const sent = result.endpoints.filter((e) => e.name !== 'connect').reduce((a, e) => a + e.requests, 0)
      expect(sent).toBeGreaterThan(0)
      expect(after - before).toBeGreaterThanOrEqual(sent)
    },
    120_000,
  )
})
