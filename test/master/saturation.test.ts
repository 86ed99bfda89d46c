import { describe, expect, it } from 'vitest'
import { SaturationCounter } from '../../src/master/saturation.js'

const T0 = 1_700_000_000_000 // a whole second

describe('SaturationCounter: saturated seconds a worker reports', () => {
  it('a 10,016 ms stall counts the 11 seconds it covers, not one', () => {
    const counter = new SaturationCounter()
    expect(counter.add('w', T0 + 20_500, 5, 10_016)).toBe(11)
  })

  it('a short stall (≥ 250 ms) or a high CPU reading counts its one second', () => {
    const counter = new SaturationCounter()
    expect(counter.add('w', T0, 5, 300)).toBe(1)
    expect(counter.add('w', T0 + 1000, 95, 0)).toBe(1)
    expect(counter.add('w', T0 + 2000, 50, 200)).toBe(0)
  })

  it('never counts a second twice: a stall and the high CPU reading that comes with it', () => {
    const counter = new SaturationCounter()
    expect(counter.add('w', T0 + 3000, 99, 0)).toBe(1)
    // A 4 s stall reported a second later covers T0+1..T0+4; T0+3 was counted already.
    expect(counter.add('w', T0 + 4000, 99, 4000)).toBe(3)
    expect(counter.add('w', T0 + 4200, 99, 4000)).toBe(0)
  })

  it('keeps each worker apart', () => {
    const counter = new SaturationCounter()
    expect(counter.add('a', T0, 95, 0)).toBe(1)
    expect(counter.add('b', T0, 95, 0)).toBe(1)
  })
})
