import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseGithubOutput } from '../helpers/github-action.js'
import { REPO_ROOT } from '../helpers/processes.js'

// The scripts the workflows run: bad "Run workflow" inputs stop a run before anything is built or called.

const run = promisify(execFile)
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'horde-plan-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function plan(
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; outputs: Record<string, string> }> {
  const output = join(dir, `out-${Math.random().toString(36).slice(2)}`)
  await writeFile(output, '')
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(SCENARIO|PODS|PARALLELISM|USERS|DURATION|WARMUP|GITHUB_)/.test(k),
    ),
  )
  try {
    const { stdout } = await run('bash', ['scripts/plan-load-test.sh'], {
      cwd: REPO_ROOT,
      env: { ...clean, GITHUB_OUTPUT: output, GITHUB_RUN_ID: '4242', GITHUB_RUN_ATTEMPT: '3', ...env },
    })
    return { code: 0, stdout, outputs: parseGithubOutput(await readFile(output, 'utf8')) }
  } catch (error) {
    const e = error as { code: number; stdout: string }
    return { code: e.code, stdout: e.stdout, outputs: parseGithubOutput(await readFile(output, 'utf8')) }
  }
}

const good = { SCENARIO: 'scenarios/demo.ts', PODS: '3', PARALLELISM: '20', DURATION: '1h30m', WARMUP: '30s' }

describe('scripts/plan-load-test.sh', () => {
  it('sizes a run: users = parallelism × pods, a run id per run and attempt, the job timeout from the duration', async () => {
    const r = await plan(good)
    expect(r.code).toBe(0)
    expect(r.outputs).toEqual({
      'run-id': 'gh-4242-3',
      users: '60',
      'duration-s': '5400',
      'timeout-minutes': '110',
    })
  })

  it('takes a total of users instead of parallelism', async () => {
    const r = await plan({ ...good, PARALLELISM: '', USERS: '7', DURATION: '90s', WARMUP: '' })
    expect(r.code).toBe(0)
    expect(r.outputs).toMatchObject({ users: '7', 'duration-s': '90', 'timeout-minutes': '22' })
  })

  it.each([
    [{ SCENARIO: 'scenarios/../../etc/passwd.ts' }, 'input scenario must be a .ts file under scenarios/'],
    [
      { SCENARIO: 'scenarios/nope.ts' },
      "input scenario names no file in this commit, received 'scenarios/nope.ts'.",
    ],
    [
      { PODS: '0' },
      "input pods must be a whole number of worker pods from 1 to 9999, received '0'. Pass e.g. 4.",
    ],
    [{ USERS: '10' }, 'input users and parallelism were both given'],
    [{ PARALLELISM: '' }, 'input users or parallelism is required'],
    [
      { PARALLELISM: '', USERS: '2' },
      "input users must be at least the number of pods (3), or a pod gets no user, received '2'.",
    ],
    [
      { DURATION: '5 minutes' },
      "input duration must be a duration such as '30s', '10m' or '1h30m', received '5 minutes'.",
    ],
    [{ WARMUP: '2h' }, "input warmup must be shorter than the duration (1h30m), received '2h'."],
    [{ DURATION: '1m\n::set-output name=x::%0A' }, "received '1m ::set-output name=x::%250A'"],
  ])('rejects %j with exit 104, naming the input, the value and the fix', async (bad, message) => {
    const r = await plan({ ...good, ...bad })
    expect(r.code).toBe(104)
    expect(r.stdout).toMatch(/^::error title=Invalid input [a-z]+::/)
    expect(r.stdout).toContain(message)
    expect(r.stdout.trim().split('\n')).toHaveLength(1)
    expect(r.outputs).toEqual({})
  })
})

describe('scripts/stop-load-test.sh', () => {
  it.each([
    ['Run-1', 'run-id'],
    ['gh-1;kubectl delete ns prod', 'run-id'],
    ['', 'run-id'],
  ])('rejects run id %j before calling kubectl (exit 104)', async (runId, input) => {
    const r = await run('bash', ['scripts/stop-load-test.sh'], {
      cwd: REPO_ROOT,
      env: { PATH: '/usr/bin:/bin', RUN_ID: runId },
    }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    )
    expect(r.code).toBe(104)
    expect(r.stdout).toContain(
      `::error title=Invalid input ${input}::input ${input} must be a run id such as gh-123456-1`,
    )
  })

  it('rejects a namespace that is not a Kubernetes name', async () => {
    const r = await run('bash', ['scripts/stop-load-test.sh'], {
      cwd: REPO_ROOT,
      env: { PATH: '/usr/bin:/bin', RUN_ID: 'gh-1-1', NAMESPACE: 'Prod Space' },
    }).catch((e: { code: number; stdout: string }) => e)
    expect(r).toMatchObject({ code: 104 })
    expect((r as { stdout: string }).stdout).toContain(
      "input namespace must be a Kubernetes namespace name, received 'Prod Space'.",
    )
  })
})
