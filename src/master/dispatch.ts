import type { PlanUserClass } from './plan.js'

/** worker id → class name → users: the absolute table sent in `spawn` messages. */
export type DispatchTable = Map<string, Record<string, number>>

/**
 * Orders workers as Locust's dispatcher does (dispatch.py `_sort_workers`): by id, then interleaved by host
 * (the id text before the first `_`), so consecutive users land on different machines.
 */
export function sortWorkers(ids: Iterable<string>): string[] {
  const sorted = [...ids].sort()
  const seenPerHost = new Map<string, number>()
  const ranked = sorted.map((id) => {
    const host = id.split('_')[0] ?? id
    const rank = seenPerHost.get(host) ?? 0
    seenPerHost.set(host, rank + 1)
    return { id, rank }
  })
  ranked.sort((a, b) => a.rank - b.rank || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return ranked.map((entry) => entry.id)
}

interface WeightedClass {
  name: string
  weight: number
  current: number
}

/**
 * The n-th user of a run is always of the same class: fixed-count classes first, then a smooth weighted
 * round-robin over the others. Because the table for N users is a prefix of the table for N+1, ramping up only
 * ever adds users and ramping down removes the most recent ones (Locust's LIFO), whatever the step size.
 */
export class UserSequence {
  readonly #classes: PlanUserClass[]
  readonly #sequence: string[] = []
  readonly #weighted: WeightedClass[]
  readonly #totalWeight: number

  constructor(classes: readonly PlanUserClass[]) {
    this.#classes = [...classes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const cls of this.#classes) {
      for (let i = 0; i < (cls.fixedCount ?? 0); i++) this.#sequence.push(cls.name)
    }
    this.#weighted = this.#classes
      .filter((cls) => cls.fixedCount === undefined)
      .map((cls) => ({ name: cls.name, weight: cls.weight, current: 0 }))
    this.#totalWeight = this.#weighted.reduce((sum, cls) => sum + cls.weight, 0)
  }

  get classNames(): string[] {
    return this.#classes.map((cls) => cls.name)
  }

  /** Users of fixed-count classes; beyond them, weighted classes fill the sequence (if any exist). */
  get maxUsers(): number {
    return this.#weighted.length > 0 ? Number.POSITIVE_INFINITY : this.#sequence.length
  }

  /** Class of the user at `index`, extending the sequence on demand. */
  at(index: number): string | undefined {
    while (this.#sequence.length <= index) {
      if (this.#weighted.length === 0) return undefined
      let best = this.#weighted[0] as WeightedClass
      for (const cls of this.#weighted) {
        cls.current += cls.weight
        if (cls.current > best.current) best = cls
      }
      best.current -= this.#totalWeight
      this.#sequence.push(best.name)
    }
    return this.#sequence[index]
  }

  /**
   * The table for `total` users over `workers` (already ordered): user i goes to worker i mod W. Every worker
   * gets every class, zeros included, as Locust sends them.
   */
  distribute(total: number, workers: readonly string[]): DispatchTable {
    const table: DispatchTable = new Map()
    for (const id of workers) {
      table.set(id, Object.fromEntries(this.classNames.map((name) => [name, 0])))
    }
    if (workers.length === 0) return table
    const capped = Math.min(total, this.maxUsers)
    for (let index = 0; index < capped; index++) {
      const name = this.at(index) as string
      const row = table.get(workers[index % workers.length] as string) as Record<string, number>
      row[name] = (row[name] ?? 0) + 1
    }
    return table
  }
}

/** Locust's ramp step: `max(1, floor(rate))` users every `users / rate` seconds (dispatch.py `new_dispatch`). */
export function rampStep(spawnRate: number): { usersPerStep: number; intervalMs: number } {
  const usersPerStep = Math.max(1, Math.floor(spawnRate))
  return { usersPerStep, intervalMs: (usersPerStep / spawnRate) * 1000 }
}

/** Next dispatched total when moving from `current` towards `target` by one ramp step. */
export function nextRampTotal(current: number, target: number, usersPerStep: number): number {
  if (current < target) return Math.min(current + usersPerStep, target)
  if (current > target) return Math.max(current - usersPerStep, target)
  return current
}
