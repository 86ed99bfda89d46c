import { describe, expect, it } from 'vitest'
import { RequestStats, locustErrorKey } from '../../src/worker/stats.js'

describe('RequestStats', () => {
  it('keeps Locust delta semantics per (name, method) and in the total', () => {
    let now = 1_700_000_000_500
    const stats = new RequestStats(() => now)
    stats.log('GET', '/a', 12.4, 100, null)
    stats.log('GET', '/a', 145, 100, null)
    stats.log('POST', '/a', 50, 0, 'HTTP 500')
    now += 1000
    stats.log('GET', '/b', null, 10, null)
    const delta = stats.takeDelta()
    expect(delta.stats.map((s) => `${s.method} ${s.name}`).sort()).toEqual(['GET /a', 'GET /b', 'POST /a'])
    const getA = delta.stats.find((s) => s.method === 'GET' && s.name === '/a')!
    expect(getA.numRequests).toBe(2)
    expect(getA.minResponseTime).toBe(12.4)
    expect(getA.maxResponseTime).toBe(145)
    expect(getA.totalResponseTime).toBeCloseTo(157.4)
    expect([...getA.responseTimes]).toEqual([
      [12, 1],
      [140, 1],
    ])
    expect([...getA.numReqsPerSec]).toEqual([[1_700_000_000, 2]])
    const getB = delta.stats.find((s) => s.name === '/b')!
    expect(getB.numNoneRequests).toBe(1)
    expect(getB.minResponseTime).toBeNull()
    expect(delta.statsTotal.numRequests).toBe(4)
    expect(delta.statsTotal.numFailures).toBe(1)
    expect(delta.statsTotal.totalContentLength).toBe(210)
    expect([...delta.statsTotal.numFailPerSec]).toEqual([[1_700_000_000, 1]])
    const [key, error] = [...delta.errors][0]!
    expect(key).toBe(locustErrorKey('POST', '/a', 'HTTP 500'))
    expect(error).toMatchObject({ method: 'POST', name: '/a', error: 'HTTP 500', occurrences: 1 })

    const next = stats.takeDelta()
    expect(next.stats).toEqual([])
    expect(next.statsTotal.numRequests).toBe(0)
    expect(next.errors.size).toBe(0)
  })

  it('computes the same error key as Locust (sha256 of method.name.error)', () => {
    // python3 -c "import hashlib; print(hashlib.sha256(b'GET./x.boom').hexdigest())"
    expect(locustErrorKey('GET', '/x', 'boom')).toBe(
      '6992ca67e0b624fbdead5c3eec8f3ad8c2c9183593b4df55f53d0d7428bfc59c',
    )
  })
})
