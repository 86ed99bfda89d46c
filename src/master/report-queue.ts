import { performance } from 'node:perf_hooks'

/**
 * Stats reports waiting to be merged. The socket hands the master every queued frame in one go, so merging each
 * report as it is read would let a burst (hundreds of workers reporting in the same second) hold the event loop
 * for as long as all those merges take: no heartbeat read, no control API answered, live workers then marked
 * missing. Here reports only queue when read; they are merged in slices of at most `budgetMs` per event-loop
 * turn (setImmediate between slices lets timers, heartbeats and HTTP in), oldest first.
 */
export class ReportQueue<T> {
  readonly #items: Array<{ item: T; queuedAtMs: number }> = []
  #head = 0
  #scheduled = false
  /** Longest single slice so far (ms), for the master's own health figures. */
  maxSliceMs = 0

  constructor(
    private readonly merge: (item: T) => void,
    private readonly budgetMs = 8,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  push(item: T, nowMs = Date.now()): void {
    this.#items.push({ item, queuedAtMs: nowMs })
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => this.#slice())
    }
  }

  get length(): number {
    return this.#items.length - this.#head
  }

  /** How long the oldest waiting report has waited (ms): 0 when none waits. */
  oldestAgeMs(nowMs = Date.now()): number {
    const oldest = this.#items[this.#head]
    return oldest === undefined ? 0 : nowMs - oldest.queuedAtMs
  }

  /** Merges everything now (the run is over and its result is being built). */
  flush(): void {
    while (this.length > 0) this.#one()
  }

  #slice(): void {
    this.#scheduled = false
    const start = performance.now()
    while (this.length > 0 && performance.now() - start < this.budgetMs) this.#one()
    const took = performance.now() - start
    if (took > this.maxSliceMs) this.maxSliceMs = took
    if (this.length > 0) {
      this.#scheduled = true
      setImmediate(() => this.#slice())
    }
  }

  #one(): void {
    const entry = this.#items[this.#head] as { item: T }
    this.#items[this.#head] = undefined as never
    this.#head++
    // Compact now and then so a long run does not keep a growing array of spent slots.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head)
      this.#head = 0
    }
    try {
      this.merge(entry.item)
    } catch (error) {
      this.onError(error)
    }
  }
}
