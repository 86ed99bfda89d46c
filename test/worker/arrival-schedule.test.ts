import { describe, expect, it } from 'vitest'
import { ArrivalSchedule } from '../../src/worker/arrival-schedule.js'

describe('ArrivalSchedule', () => {
  it('spaces arrivals exactly at a constant rate, without drift', () => {
    const s = new ArrivalSchedule(1000, 100)
    expect(s.dueAt(0)).toBeCloseTo(1010)
    expect(s.dueAt(99)).toBeCloseTo(2000)
    expect(s.dueAt(99_999)).toBeCloseTo(1000 + 1_000_000)
    expect(s.dueBy(2000)).toBeCloseTo(100)
  })

  it('ramps linearly and inverts consistently', () => {
    const s = new ArrivalSchedule(0, 0)
    s.retarget(0, 200, 1000) // 0 → 200/s over 1 s: 100 arrivals during the ramp
    expect(s.dueBy(1000)).toBeCloseTo(100)
    expect(s.rateAt(500)).toBeCloseTo(100)
    expect(s.dueBy(2000)).toBeCloseTo(300)
    for (const k of [0, 10, 99, 100, 250]) expect(s.dueBy(s.dueAt(k))).toBeCloseTo(k + 1, 6)
  })

  it('keeps the count across a retarget and goes from the current rate', () => {
    const s = new ArrivalSchedule(0, 100)
    s.retarget(1000, 200, 0)
    expect(s.dueBy(1000)).toBeCloseTo(100)
    expect(s.dueBy(1500)).toBeCloseTo(200)
    s.retarget(1500, 0, 0)
    expect(s.dueAt(1000)).toBe(Infinity)
    expect(s.dueBy(5000)).toBeCloseTo(200)
  })

  it('ramps down too', () => {
    const s = new ArrivalSchedule(0, 100)
    s.retarget(0, 0, 2000) // 100 → 0 over 2 s: 100 arrivals
    expect(s.dueBy(2000)).toBeCloseTo(100)
    expect(s.dueBy(3000)).toBeCloseTo(100)
    expect(s.dueBy(s.dueAt(50))).toBeCloseTo(51, 6)
  })
})
