import { afterEach, describe, expect, it } from 'vitest'
import { REPO_ROOT, startHorde } from '../helpers/horde-cli.js'
import { freePort, killAllStarted } from '../helpers/processes.js'

afterEach(async () => {
  await killAllStarted()
})

const lifecycle = `${REPO_ROOT}test/scenarios/lifecycle.ts`

describe('a worker waiting for its master', () => {
  it('warns every 10 s, saying whether the name does not resolve or nothing answers', async () => {
    // `.invalid` never resolves (RFC 6761); the port is free, so nothing listens there.
    const unresolvable = startHorde(['worker', lifecycle, '--master-host', 'horde-master.invalid'])
    const refused = startHorde(['worker', lifecycle, '--master-port', String(await freePort())])
    const started = Date.now()
    await Promise.all([
      unresolvable.waitFor(/still waiting for the master[^\n]*\n[^\n]*still waiting for the master/, 25_000),
      refused.waitFor(/still waiting for the master[^\n]*\n[^\n]*still waiting for the master/, 25_000),
    ])
    const tookMs = Date.now() - started
    expect(tookMs).toBeGreaterThanOrEqual(19_000)
    expect(unresolvable.output()).toMatch(
      /still waiting for the master at horde-master.invalid:5557 after 10 s: cannot resolve horde-master.invalid \((ENOTFOUND|EAI_AGAIN)\)/,
    )
    expect(refused.output()).toMatch(/after 10 s: cannot connect \(is the master up, and the port right\?\)/)
    expect(refused.output()).toMatch(/after 20 s: cannot connect/)
    for (const w of [unresolvable, refused]) {
      expect(w.output().match(/still waiting for the master/g)?.length).toBe(2)
      expect(w.child.exitCode).toBeNull()
    }
  })
})

describe('worker flags for joining', () => {
  it('rejects a short join secret without echoing it, and a bad rejoin window, before connecting (exit 104)', async () => {
    const short = startHorde(['worker', lifecycle], { HORDE_JOIN_SECRET: 'abc123' })
    expect(await short.exited).toBe(104)
    expect(short.output()).toMatch(/--join-secret must be at least 8 characters, received 6 characters\./)
    expect(short.output()).not.toContain('abc123')
    const window = startHorde(['worker', lifecycle, '--rejoin-window', 'soon'])
    expect(await window.exited).toBe(104)
    expect(window.output()).toMatch(/--rejoin-window must be a duration such as '30s'.*received "soon"/)
  })
})
