import { describe, expect, it } from 'vitest'
import type { Dealer } from 'zeromq'
import { SendPump, type Frames } from '../../src/protocol/send-pump.js'
import { createLogger } from '../../src/shared/logger.js'
import { TurnBudget, nextTurn } from '../../src/shared/turn-budget.js'

const logger = createLogger({ role: 'master', level: 'silent' })

/** Busy for about `us` microseconds: what handing a frame to libzmq costs, made long enough to measure. */
function spin(us: number): void {
  const until = performance.now() + us / 1000
  while (performance.now() < until) {
    // spinning
  }
}

/** A socket whose send completes at once (libzmq had room), as zeromq resolves it: in a microtask. */
function instantSocket(sent: Frames[]): Dealer {
  return {
    closed: false,
    send: (frames: Frames) => {
      spin(20)
      sent.push(frames)
      return Promise.resolve()
    },
  } as unknown as Dealer
}

describe('the send pump shares the event loop', () => {
  it('hands 2,000 messages to a socket that never makes it wait in several turns, in order, none lost', async () => {
    const sent: Frames[] = []
    const pump = new SendPump(
      () => instantSocket(sent),
      () => logger,
    )
    const total = 2000
    for (let i = 0; i < total; i++) pump.push(Buffer.from(String(i)))
    // Without slices every send would run in one chain of microtasks before this callback (~40 ms in one turn).
    const sentWhenTheLoopGotIn = await new Promise<number>((resolve) =>
      setImmediate(() => resolve(sent.length)),
    )
    expect(sentWhenTheLoopGotIn).toBeGreaterThan(0)
    expect(sentWhenTheLoopGotIn).toBeLessThan(total)
    await pump.idle(10_000)
    expect(sent.map(String)).toEqual(Array.from({ length: total }, (_, i) => String(i)))
  })

  it('encodes a lazy message when its turn comes, and skips one that could not be encoded', async () => {
    const sent: Frames[] = []
    const pump = new SendPump(
      () => instantSocket(sent),
      () => logger,
    )
    // Queued behind 1,000 others: encoded when the pump reaches it, not in the caller's turn.
    for (let i = 0; i < 1000; i++) pump.push(Buffer.from('x'))
    let encoded = 0
    pump.push(() => {
      encoded++
      return Buffer.from('a')
    })
    pump.push(() => null)
    pump.push(Buffer.from('b'))
    expect(encoded).toBe(0)
    await pump.idle(10_000)
    expect(encoded).toBe(1)
    expect(sent.length).toBe(1002)
    expect(sent.slice(-2).map(String)).toEqual(['a', 'b'])
  })
})

describe('TurnBudget', () => {
  it('is spent after its time within one turn and fresh in the next', async () => {
    const budget = new TurnBudget(5)
    budget.begin()
    expect(budget.spent()).toBe(false)
    spin(6000)
    budget.begin()
    expect(budget.spent()).toBe(true)
    await nextTurn()
    await nextTurn()
    budget.begin()
    expect(budget.spent()).toBe(false)
  })
})
