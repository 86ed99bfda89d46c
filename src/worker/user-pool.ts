import type { Logger } from '../shared/logger.js'
import type { HttpTransport } from './http/http-client.js'
import type { Recorder } from './stats.js'
import { PauseGate, RunningUser, type UserClass, type UserHooks } from './user-runner.js'

/**
 * The users running in one worker, grouped by the class name the master asked for. `setCounts` applies an
 * absolute per-class target at once (Locust 2.x semantics: the master ramps by sending new targets).
 */
export class UserPool {
  private readonly byWireClass = new Map<string, RunningUser[]>()
  private readonly exiting = new Set<Promise<void>>()
  private nextUserIndex = 0
  private readonly pauseGate = new PauseGate()
  private warnedUnknown = new Set<string>()
  /** Set once the worker has given up (quit, master lost, signal): no user may start again. */
  private closed = false

  constructor(
    private readonly classes: ReadonlyMap<string, UserClass>,
    private readonly transport: HttpTransport,
    private readonly recorder: Recorder,
    private readonly log: Logger,
    private readonly workerIndexOf: () => number,
    private readonly onException: (userClass: string, error: unknown) => void,
  ) {}

  get userCount(): number {
    let n = 0
    for (const users of this.byWireClass.values()) n += users.length
    return n
  }

  /** Users per class as the master named them, zeros included for every class we know. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const name of this.classes.keys()) counts[name] = 0
    for (const [name, users] of this.byWireClass) counts[name] = users.length
    return counts
  }

  /**
   * Starts or stops users so that each class has exactly its target. A class name we do not define (a Locust
   * master with a different locustfile) is served by our classes picked by weight, instead of crashing the
   * spawn as a Python worker would (protocol P16).
   */
  setCounts(targets: Record<string, number>, stopTimeoutMs: number): void {
    if (this.closed) return
    for (const [wireClass, target] of Object.entries(targets)) {
      const users = this.byWireClass.get(wireClass) ?? []
      this.byWireClass.set(wireClass, users)
      while (users.length < target) users.push(this.startUser(wireClass))
      if (users.length > target) {
        // LIFO, like Locust: the most recently started users stop first.
        for (const user of users.splice(target)) this.stopUser(user, stopTimeoutMs)
      }
    }
  }

  /** Paused users finish their current task and start no other until resumed. */
  setPaused(paused: boolean): void {
    this.pauseGate.set(paused)
  }

  /** This worker's share of the scenario's throttle (tasks per second; 0 = no cap). */
  setThrottleTps(tps: number): void {
    this.pauseGate.throttle.setTps(tps)
  }

  get paused(): boolean {
    return this.pauseGate.paused
  }

  /** Stops every user: gracefully for up to `stopTimeoutMs`, then at once. Resolves when all loops ended. */
  async stopAll(stopTimeoutMs: number): Promise<void> {
    for (const users of this.byWireClass.values())
      for (const user of users) this.stopUser(user, stopTimeoutMs)
    this.byWireClass.clear()
    await Promise.all(this.exiting)
  }

  /** Stops every user at once and refuses to start any again: the worker is leaving. */
  close(): Promise<void> {
    this.closed = true
    return this.stopAll(0)
  }

  /** Users told to stop whose loop has not ended yet (a task awaiting something that never settles). */
  get stoppingCount(): number {
    return this.exiting.size
  }

  /** Resolves when every stopping user's loop has ended, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(this.exiting),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs)
      }),
    ])
    clearTimeout(timer)
  }

  private resolveClass(wireClass: string): UserClass {
    const known = this.classes.get(wireClass)
    if (known !== undefined) return known
    if (!this.warnedUnknown.has(wireClass)) {
      this.warnedUnknown.add(wireClass)
      this.log.warn(
        { userClass: wireClass, known: [...this.classes.keys()] },
        'master asked for a user class this scenario does not define; running the scenario classes by weight instead',
      )
    }
    const all = [...this.classes.values()]
    const total = all.reduce((sum, c) => sum + c.weight, 0)
    let r = Math.random() * total
    for (const c of all) {
      r -= c.weight
      if (r < 0) return c
    }
    return all[all.length - 1] as UserClass
  }

  private startUser(wireClass: string): RunningUser {
    const hooks: UserHooks = {
      onException: this.onException,
      onExit: () => undefined,
    }
    const user = new RunningUser(
      this.resolveClass(wireClass),
      wireClass,
      this.transport,
      this.recorder,
      this.log,
      this.nextUserIndex++,
      this.workerIndexOf,
      hooks,
      this.pauseGate,
    )
    user.start()
    return user
  }

  private stopUser(user: RunningUser, stopTimeoutMs: number): void {
    if (stopTimeoutMs <= 0) user.abort()
    else {
      user.requestStop()
      const timer = setTimeout(() => user.abort(), stopTimeoutMs)
      void user.done.finally(() => clearTimeout(timer))
    }
    const exiting = user.done.finally(() => this.exiting.delete(exiting))
    this.exiting.add(exiting)
  }
}
