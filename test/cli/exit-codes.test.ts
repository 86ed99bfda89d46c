import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ExitCode } from '../../src/shared/errors.js'
import { REPO_ROOT, startHorde } from '../helpers/horde-cli.js'
import { stopProcess, type TestProcess } from '../helpers/processes.js'

/** A loopback port nobody listens on: bound on port 0, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

describe('one exit-code table', () => {
  const started: TestProcess[] = []
  afterEach(async () => {
    for (const child of started.splice(0)) await stopProcess(child)
  })

  it('the README states every code of the table with its meaning', () => {
    const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8').replace(/\s+/g, ' ')
    const line = /Exit codes \(all commands\): (.*?)\. /.exec(readme)?.[1] ?? ''
    expect(line).toContain(`**${ExitCode.pass}** pass`)
    expect(line).toContain(`**${ExitCode.thresholdsFailed}** thresholds failed`)
    expect(line).toContain(`**${ExitCode.invalidInput}** invalid input`)
    expect(line).toContain(`**${ExitCode.stopped}** stopped / master lost`)
    expect(line).toContain(`**${ExitCode.invalidRun}** invalid run`)
    expect(line.match(/\*\*\d+\*\*/g)).toHaveLength(Object.keys(ExitCode).length)
  })

  it('horde ctl exits 105 (master lost), not 1, when the master cannot be reached', async () => {
    const ctl = startHorde(['ctl', `http://127.0.0.1:${await closedPort()}`, 'status'])
    started.push(ctl)
    expect(await ctl.exited, ctl.output()).toBe(ExitCode.stopped)
    expect(ctl.output()).toMatch(/cannot reach the master at http:\/\/127\.0\.0\.1:\d+/)
  })
})
