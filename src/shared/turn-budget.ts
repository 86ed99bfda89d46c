import { performance } from 'node:perf_hooks'

/**
 * A time box for one kind of work within one event-loop turn. zeromq hands over every frame already queued
 * without ever returning to the event loop (each receive, and each send that libzmq can take at once, resolves in
 * a microtask), so a burst of a thousand frames, read or written, would be one turn as long as all of them take:
 * no timer, no heartbeat, no control API answered meanwhile. A loop that calls begin() before each unit of work
 * and awaits nextTurn() once spent() says so keeps its share of a turn to about `budgetMs`.
 */
export class TurnBudget {
  #turnStartMs = 0
  #inTurn = false
  readonly #endTurn = (): void => {
    this.#inTurn = false
  }

  constructor(readonly budgetMs: number) {}

  /** Before a unit of work: the first one in this turn starts the turn's clock. */
  begin(): void {
    if (this.#inTurn) return
    this.#inTurn = true
    this.#turnStartMs = performance.now()
    // Runs in this turn's check phase (or the next turn's, when begun from one): the turn is over by then.
    setImmediate(this.#endTurn)
  }

  /** After a unit of work: whether this turn's share is used up (then await nextTurn() before the next unit). */
  spent(): boolean {
    return performance.now() - this.#turnStartMs >= this.budgetMs
  }
}

/**
 * Resolves from setImmediate. From an I/O callback that is this turn's check phase, so two slices can run back to
 * back; timers and other I/O always get in before a third.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
