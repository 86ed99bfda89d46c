import { Throttle } from './throttle.js'
import type { Logger } from '../shared/logger.js'
import type { HttpTransport } from './http/http-client.js'
import type { ScenarioOptions, TaskDefinition, TaskFn, WaitSpec } from './scenario-types.js'
import type { Recorder } from './stats.js'
import { taskErrorOutcome } from './task-error.js'
import { UserContext, errorText } from './user-context.js'

/** A user class ready to run: tasks flattened for a cheap weighted pick. */
export class UserClass {
  private readonly fns: TaskFn[]
  private readonly cumulativeWeights: number[]
  private readonly totalWeight: number
  readonly ordered: boolean
  readonly wait: WaitSpec | undefined

  constructor(
    readonly name: string,
    readonly definition: ScenarioOptions['users'][string],
  ) {
    const entries: Array<TaskDefinition | TaskFn> =
      definition.sequence !== undefined && definition.sequence.length > 0
        ? [...definition.sequence]
        : Object.values(definition.tasks ?? {})
    this.ordered = definition.sequence !== undefined && definition.sequence.length > 0
    this.fns = entries.map((e) => (typeof e === 'function' ? e : e.fn))
    let sum = 0
    this.cumulativeWeights = entries.map((e) => (sum += typeof e === 'function' ? 1 : e.weight))
    this.totalWeight = sum
    this.wait = definition.wait
  }

  /** Number of tasks (the length of a sequence). */
  get steps(): number {
    return this.fns.length
  }

  get weight(): number {
    return this.definition.weight ?? 1
  }

  /** The task to run at step `step` (sequence) or a weighted random one. */
  taskAt(step: number): TaskFn {
    if (this.ordered) return this.fns[step % this.fns.length] as TaskFn
    if (this.fns.length === 1) return this.fns[0] as TaskFn
    const r = Math.random() * this.totalWeight
    for (let i = 0; i < this.cumulativeWeights.length; i++) {
      if (r < (this.cumulativeWeights[i] as number)) return this.fns[i] as TaskFn
    }
    return this.fns[this.fns.length - 1] as TaskFn
  }
}

/** How long to wait after a task that started at `taskStartedAt` (performance.now ms). */
export function waitAfterTaskMs(wait: WaitSpec | undefined, taskStartedAt: number): number {
  if (wait === undefined) return 0
  switch (wait.kind) {
    case 'constant':
      return wait.ms
    case 'between':
      return wait.minMs + Math.random() * (wait.maxMs - wait.minMs)
    case 'pacing':
      return Math.max(0, wait.ms - (performance.now() - taskStartedAt))
  }
}

/** Consecutive no-wait tasks after which a user yields to the event loop, so a CPU-only task cannot starve I/O. */
const YIELD_EVERY_ITERATIONS = 64

/** Shared by every user of a pool: while paused, users finish their task and wait before the next one. */
export class PauseGate {
  paused = false
  /** The worker's throughput cap (scenario `throttle`, its share sent by the master); shared by its users. */
  readonly throttle = new Throttle()
  private waiters = new Set<() => void>()

  wait(resolve: () => void): void {
    this.waiters.add(resolve)
  }

  set(paused: boolean): void {
    this.paused = paused
    if (!paused) {
      const waiters = this.waiters
      this.waiters = new Set()
      for (const resolve of waiters) resolve()
    }
  }
}

export interface UserHooks {
  /** An uncaught task error: sent to the master as an `exception`. */
  onException(userClass: string, error: unknown): void
  onExit(user: RunningUser): void
}

/** One virtual user: an async loop over its class's tasks until stopped. */
export class RunningUser {
  readonly context: UserContext
  /** Graceful stop: finish the current task, then exit. */
  stopping = false
  done: Promise<void> = Promise.resolve()
  private sleepTimer: NodeJS.Timeout | null = null
  private wake: (() => void) | null = null

  constructor(
    readonly userClass: UserClass,
    /** The class name the master asked for (may differ from userClass.name when it was unknown to us). */
    readonly wireClass: string,
    transport: HttpTransport,
    recorder: Recorder,
    log: Logger,
    userIndex: number,
    workerIndexOf: () => number,
    private readonly hooks: UserHooks,
    private readonly pauseGate: PauseGate,
  ) {
    const state: unknown = userClass.definition.state?.()
    this.context = new UserContext(transport, recorder, log, userClass.name, userIndex, workerIndexOf, state)
  }

  /** Starts the loop on the next turn of the event loop, so a spawn is acknowledged before any task runs. */
  start(): void {
    this.done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.run())
  }

  /** Ask the user to finish its current task; it stops at the next boundary (a wait ends at once). */
  requestStop(): void {
    this.stopping = true
    this.interruptSleep()
  }

  /** Stop now: new requests are refused and the current task ends at its next await. */
  abort(): void {
    this.stopping = true
    this.context.abort()
    this.interruptSleep()
  }

  private interruptSleep(): void {
    if (this.sleepTimer !== null) clearTimeout(this.sleepTimer)
    this.sleepTimer = null
    const wake = this.wake
    this.wake = null
    wake?.()
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve
      this.sleepTimer = setTimeout(() => {
        this.sleepTimer = null
        this.wake = null
        resolve()
      }, ms)
    })
  }

  /** Runs onStart/onStop; false when the user must end (StopUser, an abort, or a throw when `fatal`). */
  private async callHook(fn: TaskFn, fatal = false): Promise<boolean> {
    try {
      await fn(this.context)
      return true
    } catch (error) {
      const outcome = taskErrorOutcome(error, this.context.aborted)
      if (outcome === 'end') return false
      if (fatal) {
        // Reported even when measure() already recorded it as a failed request: the user's end is news.
        // No log line here: thousands of users may fail alike, and exceptions are rate-limited already.
        this.hooks.onException(this.userClass.name, error)
        return false
      }
      if (outcome === 'report') this.hooks.onException(this.userClass.name, error)
      return true
    }
  }

  private async run(): Promise<void> {
    const userClass = this.userClass
    const definition = userClass.definition
    try {
      // Stopped before its first turn (a spawn immediately followed by a smaller one): never started.
      if (this.stopping) return
      // A throwing onStart ends this user (reported): its tasks would run on half-set-up state.
      if (definition.onStart !== undefined && !(await this.callHook(definition.onStart, true))) return
      let step = 0
      let withoutYield = 0
      while (!this.stopping) {
        if (this.pauseGate.paused) {
          await new Promise<void>((resolve) => {
            this.wake = resolve
            this.pauseGate.wait(resolve)
          })
          this.wake = null
          continue
        }
        const throttledMs = this.pauseGate.throttle.reserve()
        if (throttledMs > 0) {
          await this.sleep(throttledMs)
          if (this.stopping) break
        }
        const startedAt = performance.now()
        const fn = userClass.taskAt(step++)
        try {
          await fn(this.context)
        } catch (error) {
          const outcome = taskErrorOutcome(error, this.context.aborted)
          if (outcome === 'end') break
          if (outcome === 'report') this.hooks.onException(userClass.name, error)
        }
        if (this.stopping) break
        const waitMs = waitAfterTaskMs(userClass.wait, startedAt)
        if (waitMs > 0) {
          withoutYield = 0
          await this.sleep(waitMs)
        } else if (++withoutYield >= YIELD_EVERY_ITERATIONS) {
          withoutYield = 0
          await new Promise<void>((resolve) => setImmediate(resolve))
        }
      }
      if (definition.onStop !== undefined && !this.context.aborted) await this.callHook(definition.onStop)
    } finally {
      this.interruptSleep()
      this.hooks.onExit(this)
    }
  }
}

export { errorText }
