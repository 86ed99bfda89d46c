import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { REPO_ROOT, startHorde } from '../helpers/horde-cli.js'
import { killAllStarted } from '../helpers/processes.js'

let dir: string | undefined
afterEach(async () => {
  await killAllStarted()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

const good = `import { defineScenario, user, task, between } from 'horde'
export default defineScenario({
  name: 'outside',
  host: 'http://127.0.0.1:9',
  users: { Shopper: user({ weight: 2, wait: between('1s', '2s'), tasks: { browse: task(3, ({ http }) => http.get('/')) } }) },
  thresholds: { http_req_failed: ['rate<0.01'] },
})
`

describe('loading scenario files', () => {
  it("loads a .ts scenario from any folder where the package is installed, importing from 'horde'", async () => {
    dir = mkdtempSync(join(tmpdir(), 'horde-user-project-'))
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'horde'), 'dir')
    writeFileSync(join(dir, 'shop.ts'), good)
    const inspect = startHorde(['inspect', join(dir, 'shop.ts')])
    expect(await inspect.exited, inspect.output()).toBe(0)
    const described = JSON.parse(inspect.output()) as {
      users: Record<string, { weight: number; tasks: unknown }>
    }
    expect(described.users.Shopper).toMatchObject({ weight: 2, tasks: { browse: 3 } })
  })

  it('loads a scenario inside the project through the package self-reference', async () => {
    const inspect = startHorde(['inspect', `${REPO_ROOT}test/scenarios/interop.ts`])
    expect(await inspect.exited, inspect.output()).toBe(0)
    expect(inspect.output()).toContain('"Breaker"')
  })

  it('fails at load, exit 104, with a message naming the field, the value and the fix', async () => {
    dir = mkdtempSync(join(REPO_ROOT, '.tmp-scenario-'))
    const cases: Array<[string, RegExp]> = [
      [
        good.replace('weight: 2', 'weight: -1'),
        /users\.Shopper\.weight must be a positive integer, received -1\./,
      ],
      [
        good.replace("between('1s', '2s')", "between('1s', 'soon')"),
        /between\(max\) must be a duration.*"soon"/,
      ],
      [good.replace("name: 'outside',", "name: 'outside', hosts: 'x',"), /unknown option\(s\) "hosts"/],
      [good.replace(/users: \{.*\},\n/, 'users: {},\n'), /users needs at least one user class/],
      ['export default { name: "x" }\n', /must `export default defineScenario\(\{...\}\)`/],
      ["import { nope } from 'horde'\nexport default nope()\n", /failed to load/],
    ]
    for (const [index, [source, expected]] of cases.entries()) {
      const file = join(dir, `case${index}.ts`)
      writeFileSync(file, source)
      const inspect = startHorde(['inspect', file])
      expect(await inspect.exited, inspect.output()).toBe(104)
      expect(inspect.output()).toMatch(expected)
    }
  })
})
