import { throttleShares } from './throttle-split.js'
import { UserSequence, nextRampTotal, rampStep, sortWorkers } from './dispatch.js'
import { targetAt } from './plan.js'
import type { DispatchParts } from './run-state.js'

/**
 * The closed model (a number of users): follows the plan's stages or the last retarget, ramps at the spawn rate
 * by repeated absolute `spawn` tables as Locust does, and redistributes the users when workers come and go.
 */
export class ClosedModelPlanner {
  readonly #p: DispatchParts
  readonly sequence: UserSequence
  #dispatched = 0
  #target = 0
  #spawnRate = 1
  /** -2: no stage seen yet (-1 is "no stages", which the first apply must still announce nothing for). */
  #stage = -2
  #rampTimer: NodeJS.Timeout | null = null
  /** Set by a retarget: replaces the plan's users schedule for the rest of the run. */
  #override: { users: number; spawnRate: number } | null = null

  constructor(parts: DispatchParts) {
    this.#p = parts
    this.sequence = new UserSequence(parts.plan.userClasses)
  }

  get targetUsers(): number {
    return this.#target
  }

  get dispatchedUsers(): number {
    return this.#dispatched
  }

  get stage(): number {
    return this.#stage
  }

  /** Applies the stage (or constant target) in force now; called at start and every tick. */
  apply(nowMs: number): void {
    if (this.#p.state.phase !== 'running' || this.#p.state.loadStartMs === null) return
    const { users, spawnRate, stage } =
      this.#override === null
        ? targetAt(this.#p.plan, nowMs - this.#p.state.loadStartMs)
        : { ...this.#override, stage: this.#stage }
    if (stage !== this.#stage) {
      if (stage >= 0) {
        this.#p.events.emit(
          'stage-started',
          `stage ${stage + 1} of ${this.#p.plan.stages?.length ?? 0}: ${users} users at ${spawnRate}/s`,
          { stage, users, spawnRate },
        )
      }
      this.#stage = stage
    }
    if (users !== this.#target || spawnRate !== this.#spawnRate) {
      this.#target = users
      this.#spawnRate = spawnRate
      if (this.#rampTimer === null) this.#rampStep()
    }
  }

  /** Users for the rest of the run, ramped at `spawnRate` (default: the rate in force). */
  retarget(users: number, spawnRate: number | undefined, nowMs: number): void {
    const rate = spawnRate ?? this.#spawnRate
    this.#override = { users, spawnRate: rate }
    this.#p.events.emit('retargeted', `users ${this.#target} → ${users} at ${rate}/s`, {
      fromUsers: this.#target,
      toUsers: users,
      spawnRate: rate,
    })
    this.apply(nowMs)
  }

  /** Redistributes the users dispatched so far over the current workers at once (join, loss, pause). */
  rebalance(): void {
    this.#sendTable(this.#dispatched)
  }

  stop(): void {
    if (this.#rampTimer !== null) clearTimeout(this.#rampTimer)
    this.#rampTimer = null
  }

  #rampStep(): void {
    this.#rampTimer = null
    if (this.#p.state.phase !== 'running') return
    const { usersPerStep, intervalMs } = rampStep(this.#spawnRate)
    const next = nextRampTotal(this.#dispatched, this.#target, usersPerStep)
    this.#sendTable(next)
    if (next !== this.#target) {
      this.#rampTimer = setTimeout(() => this.#rampStep(), intervalMs)
    } else {
      this.#p.events.emit(
        'spawn-complete',
        `${next} users dispatched over ${this.#p.registry.active().length} workers`,
        { users: next },
      )
      for (const node of this.#p.registry.active())
        this.#p.link.send(node.id, { type: 'spawningComplete', userCount: next })
    }
  }

  /** Sends the absolute table for `total` users to every active worker (Locust sends it even when unchanged). */
  #sendTable(total: number): void {
    this.#dispatched = total
    const workers = sortWorkers(this.#p.registry.active().map((n) => n.id))
    const table = this.sequence.distribute(total, workers)
    if (this.#p.state.paused) {
      // Locust workers cannot pause: their users stop (spawn 0) until resume. Horde workers pause themselves.
      for (const [id, counts] of table) {
        if (this.#p.registry.get(id)?.version !== -1) {
          table.set(id, Object.fromEntries(Object.keys(counts).map((name) => [name, 0])))
        }
      }
    }
    // JdbcRunner's throttle: the run's cap split over the Horde workers by their users, with every table, and
    // sent before it: a worker applies messages in order, so its new users never start uncapped.
    if (this.#p.plan.throttleTps !== undefined) {
      const shares = throttleShares(
        this.#p.plan.throttleTps,
        table,
        (id) => this.#p.registry.get(id)?.version === -1,
      )
      for (const [id, throttleTps] of shares) this.#p.link.control(id, { v: 1, throttleTps })
    }
    for (const [id, userClassesCount] of table) this.#p.link.spawn(id, userClassesCount)
  }
}
