import { describe, expect, it } from 'vitest'
import {
  between,
  constant,
  constantPacing,
  constantThroughput,
  defineScenario,
  task,
  user,
} from '../../src/worker/scenario.js'
import { ScenarioError } from '../../src/shared/errors.js'
import type { ScenarioOptions } from '../../src/worker/scenario-types.js'

const valid = (): ScenarioOptions => ({
  name: 'shop',
  host: 'http://127.0.0.1:8080',
  users: { Visitor: user({ tasks: { home: task(1, ({ http }) => http.get('/')) } }) },
})

function errorOf(fn: () => unknown): ScenarioError {
  try {
    fn()
  } catch (error) {
    if (error instanceof ScenarioError) return error
    throw error
  }
  throw new Error('expected a ScenarioError')
}

describe('defineScenario', () => {
  it('accepts a valid scenario and freezes it', () => {
    const scenario = defineScenario(valid())
    expect(scenario.kind).toBe('horde.scenario')
    expect(Object.isFrozen(scenario)).toBe(true)
    expect(Object.isFrozen(scenario.users)).toBe(true)
  })

  it('rejects a scenario without users, naming the field and the fix', () => {
    const error = errorOf(() => defineScenario({ ...valid(), users: {} }))
    expect(error.code).toBe('HORDE_ERR_SCENARIO_INVALID')
    expect(error.message).toMatch(/users needs at least one user class/)
    expect(error.message).toMatch(/received \{\}/)
  })

  it('rejects a negative weight with field, value and fix', () => {
    const error = errorOf(() =>
      defineScenario({ ...valid(), users: { Voter: user({ weight: -1, tasks: { a: () => undefined } }) } }),
    )
    expect(error.message).toContain('users.Voter.weight must be a positive integer, received -1.')
  })

  it('rejects a bad duration string', () => {
    const error = errorOf(() => defineScenario({ ...valid(), warmup: 'ten seconds' }))
    expect(error.message).toContain('warmup')
    expect(error.message).toContain('"ten seconds"')
    expect(error.message).toMatch(/'30s'/)
  })

  it('rejects durations a timer cannot wait (over 596h31m23s), naming the maximum', () => {
    const error = errorOf(() => defineScenario({ ...valid(), stopTimeout: '700h' }))
    expect(error.message).toMatch(/stopTimeout must be a duration .*at most 596h31m23s/)
    expect(error.message).toContain('"700h"')
    expect(() => constant('597h')).toThrow(/at most 596h31m23s.*"597h"/)
    expect(defineScenario({ ...valid(), stopTimeout: '596h' }).stopTimeout).toBe('596h')
  })

  it('rejects an unknown option by name', () => {
    const error = errorOf(() => defineScenario({ ...valid(), hosts: 'x' } as unknown as ScenarioOptions))
    expect(error.message).toMatch(/unknown option\(s\) "hosts"/)
  })

  it('rejects a user without tasks, and one with both tasks and sequence', () => {
    expect(errorOf(() => defineScenario({ ...valid(), users: { A: user({}) } })).message).toMatch(
      /users.A.tasks needs at least one task/,
    )
    const both = user({ tasks: { a: () => undefined }, sequence: [() => undefined] })
    expect(errorOf(() => defineScenario({ ...valid(), users: { A: both } })).message).toMatch(/not both/)
  })

  it('rejects a zero task weight and a host that is not a URL', () => {
    const zero = user({ tasks: { a: task(0, () => undefined) } })
    expect(errorOf(() => defineScenario({ ...valid(), users: { A: zero } })).message).toContain(
      'users.A.tasks.a.weight must be a positive integer, received 0.',
    )
    expect(errorOf(() => defineScenario({ ...valid(), host: 'localhost:8080' })).message).toMatch(
      /host must be an http\(s\) URL.*received "localhost:8080"/,
    )
  })

  it('rejects user-class names that cannot travel on the wire', () => {
    const error = errorOf(() =>
      defineScenario({ ...valid(), users: { 'my user': user({ tasks: { a: () => undefined } }) } }),
    )
    expect(error.message).toMatch(/"my user".*use an identifier/)
  })
})

describe('wait helpers', () => {
  it('parse durations into wait specs', () => {
    expect(between('1s', '2.5s')).toEqual({ kind: 'between', minMs: 1000, maxMs: 2500 })
    expect(constant('500ms')).toEqual({ kind: 'constant', ms: 500 })
    expect(constant(0)).toEqual({ kind: 'constant', ms: 0 })
    expect(constantPacing('2s')).toEqual({ kind: 'pacing', ms: 2000 })
    expect(constantThroughput(4)).toEqual({ kind: 'pacing', ms: 250 })
  })

  it('reject nonsense with a clear message', () => {
    expect(() => between('2s', '1s')).toThrow(/min ≤ max/)
    expect(() => constant('soon')).toThrow(/constant\(wait\) must be a duration.*"soon"/)
    expect(() => constantThroughput(0)).toThrow(/positive number, received 0/)
  })
})
