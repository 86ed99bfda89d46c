import type { Logger } from '../shared/logger.js'
import {
  createResponseTimeHistogram,
  recordResponseTimeMs,
  type Histogram,
  type HordeIterationCounts,
} from '../protocol/horde-extension.js'
import { ArrivalSchedule } from './arrival-schedule.js'
import type { HttpTransport } from './http/http-client.js'
import type { Recorder } from './stats.js'
import { taskErrorOutcome } from './task-error.js'
import { UserContext } from './user-context.js'
import type { UserClass } from './user-runner.js'

/** A slot in the open model's pool: at most one iteration in flight, one context (and state) per class. */
class Slot {
  readonly contexts = new Map<string, UserContext>()
  inFlight: Promise<void> | null = null
  /** Taken out of the pool by a resize while busy: not returned when its iteration ends. */
  retired = false
}

/** The scheduler wakes at least this often, so pause and retarget take effect quickly. */
const MAX_TICK_MS = 20
/**
 * At most this many iterations start per event-loop turn; the rest of a backlog continues in the next one.
 * Starting an iteration runs its task up to its first request, and a cold worker (JIT still compiling, a new
 * connection per start) can take ~0.5 ms each: a backlog of thousands started in one go blocked the loop for
 * seconds, long enough for the master to count the worker missing. Between chunks, timers (heartbeats) and
 * I/O run; the backlog keeps its intended start times, so the corrected latency still shows the lateness.
 */
export const MAX_STARTS_PER_TURN = 128
/**
 * How long an arrival may wait for a free slot before it is dropped. Waiting (as wrk2 and Gatling's open
 * injection do) keeps the schedule honest through a short stall: the late start shows in the corrected
 * latency. A pool that is too small for rate × latency keeps falling behind and drops arrivals instead.
 */
export const DEFAULT_MAX_QUEUE_MS = 2000

export interface OpenModelDeps {
  classes: ReadonlyMap<string, UserClass>
  transport: HttpTransport
  recorder: Recorder
  log: Logger
  workerIndexOf: () => number
  onException: (userClass: string, error: unknown) => void
}

/**
 * The open model: iterations start at a target rate whatever the target's latency (an arrival-rate
 * executor), each in a free slot of a bounded pool. An arrival that finds no free slot waits for one up to
 * maxQueueMs, then is dropped and counted: the generator, not the target, fell short, and the master says
 * so. The schedule is computed,
 * never accumulated from timer delays, so the rate does not drift; a late tick starts every due arrival at
 * once and the lateness shows in the coordinated-omission-corrected latency.
 */
export class OpenModelRunner {
  private readonly slots: Slot[] = []
  private readonly free: Slot[] = []
  private schedule: ArrivalSchedule
  /** Arrivals handled (started or dropped) in the current schedule. */
  private issued = 0
  private timer: NodeJS.Timeout | null = null
  /** Iterations started in the current event-loop turn; reset by the setImmediate that continues a backlog. */
  private startsThisTurn = 0
  private turnEndScheduled = false
  private running = false
  private paused = false
  private stopped = false
  private readonly counts = new Map<number, HordeIterationCounts>()
  /** Intended start times (performance.now ms) of arrivals waiting for a slot, oldest first. */
  private queue: number[] = []
  private queueHead = 0
  private readonly classList: UserClass[]
  private readonly totalWeight: number
  private nextUserIndex = 0
  /** Worst lateness of a tick against the earliest due arrival it served, since the last report (ms). */
  maxStartLagMs = 0
  /** Lateness of each iteration start against its schedule, since the last report: the scheduler's jitter. */
  startLag: Histogram = createResponseTimeHistogram()

  constructor(
    private readonly deps: OpenModelDeps,
    private rps: number,
    maxInFlight: number,
    private readonly maxQueueMs = DEFAULT_MAX_QUEUE_MS,
  ) {
    this.schedule = new ArrivalSchedule(performance.now(), rps)
    this.classList = [...deps.classes.values()]
    this.totalWeight = this.classList.reduce((sum, c) => sum + c.weight, 0)
    this.resize(maxInFlight)
  }

  get inFlight(): number {
    return this.slots.length - this.free.length
  }

  get targetRps(): number {
    return this.rps
  }

  get maxInFlight(): number {
    return this.slots.length
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.schedule = new ArrivalSchedule(performance.now(), this.rps)
    this.issued = 0
    this.tick()
  }

  /** New target rate, reached by a linear ramp over `rampMs` from the current rate. */
  retarget(rps: number, rampMs: number): void {
    this.rps = rps
    this.schedule.retarget(performance.now(), rps, rampMs)
    this.issued = Math.min(this.issued, Math.floor(this.schedule.dueBy(performance.now())))
    this.wake()
  }

  /** Grows or shrinks the pool; shrinking takes slots out as their iterations finish. */
  resize(maxInFlight: number): void {
    while (this.slots.length < maxInFlight) {
      const slot = new Slot()
      this.slots.push(slot)
      this.free.push(slot)
    }
    while (this.slots.length > maxInFlight) {
      const slot = this.slots.pop() as Slot
      slot.retired = true
      const freeIndex = this.free.indexOf(slot)
      if (freeIndex >= 0) this.free.splice(freeIndex, 1)
    }
  }

  /** Stops starting iterations; in-flight ones finish. On resume the schedule restarts from now (no burst). */
  setPaused(paused: boolean): void {
    if (paused === this.paused) return
    this.paused = paused
    if (paused) {
      if (this.timer !== null) clearTimeout(this.timer)
      this.timer = null
      // Arrivals already due but not started are not carried over the pause.
      this.queue = []
      this.queueHead = 0
    } else if (this.running) {
      this.schedule = new ArrivalSchedule(performance.now(), this.rps)
      this.issued = 0
      this.tick()
    }
  }

  /** Stops scheduling and every iteration: gracefully up to `stopTimeoutMs`, then at once. */
  async stop(stopTimeoutMs: number): Promise<void> {
    this.stopped = true
    this.running = false
    this.queue = []
    this.queueHead = 0
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const inFlight = this.slots.map((s) => s.inFlight).filter((p): p is Promise<void> => p !== null)
    const abortAll = () => {
      for (const slot of this.slots) for (const ctx of slot.contexts.values()) ctx.abort()
    }
    if (stopTimeoutMs <= 0) abortAll()
    const timer = stopTimeoutMs > 0 ? setTimeout(abortAll, stopTimeoutMs) : undefined
    await Promise.all(inFlight)
    clearTimeout(timer)
  }

  /** Iterations whose task has not returned yet (after stop: the ones that ignore the abort). */
  get unfinished(): number {
    let n = 0
    for (const slot of this.slots) if (slot.inFlight !== null) n++
    return n
  }

  /** Iterations started and dropped per second since the last call. */
  takeCounts(): HordeIterationCounts[] {
    const counts = [...this.counts.values()]
    this.counts.clear()
    return counts
  }

  private wake(): void {
    if (!this.running || this.paused) return
    if (this.timer !== null) clearTimeout(this.timer)
    this.tick()
  }

  private tick = (): void => {
    this.timer = null
    if (!this.running || this.paused) return
    this.admitDue(performance.now())
    const nextDue = this.schedule.dueAt(this.issued)
    const delay = Math.min(MAX_TICK_MS, Math.max(0, nextDue - performance.now()))
    this.timer = setTimeout(this.tick, delay)
  }

  /**
   * Queues every arrival due by `now` and starts what the free slots allow. Called from the timer and also
   * whenever an iteration ends: under load the event loop is busy with responses, and starting due arrivals
   * right there keeps the start-time jitter near the gap between two completions instead of a timer tick.
   */
  private admitDue(now: number): void {
    const due = Math.floor(this.schedule.dueBy(now))
    if (due > this.issued) {
      const lag = now - this.schedule.dueAt(this.issued)
      if (lag > this.maxStartLagMs) this.maxStartLagMs = lag
      while (this.issued < due) this.queue.push(this.schedule.dueAt(this.issued++))
    }
    if (this.queueHead < this.queue.length) this.drainQueue(now, Math.floor(Date.now() / 1000))
  }

  /** Starts queued arrivals in free slots; drops the ones that waited longer than maxQueueMs. */
  private drainQueue(now: number, second: number): void {
    const queue = this.queue
    while (this.queueHead < queue.length) {
      const intendedAt = queue[this.queueHead] as number
      if (now - intendedAt > this.maxQueueMs) {
        this.queueHead++
        this.count(second, 0, 1)
        continue
      }
      if (this.startsThisTurn >= MAX_STARTS_PER_TURN) break
      const slot = this.free.pop()
      if (slot === undefined) break
      if (this.startsThisTurn++ === 0) this.endTurnSoon()
      this.queueHead++
      this.count(second, 1, 0)
      // Read the clock per start: in a chunk of starts, the later ones begin later than `now`.
      recordResponseTimeMs(this.startLag, performance.now() - intendedAt)
      this.startIteration(slot, intendedAt)
    }
    // Compact now and then rather than shifting on every start.
    if (this.queueHead > 1024 && this.queueHead * 2 > queue.length) {
      this.queue = queue.slice(this.queueHead)
      this.queueHead = 0
    }
  }

  /**
   * Ends the start budget of this event-loop turn after I/O has had its turn (setImmediate runs after the
   * poll phase), and continues a backlog the budget left waiting.
   */
  private endTurnSoon(): void {
    if (this.turnEndScheduled) return
    this.turnEndScheduled = true
    setImmediate(() => {
      this.turnEndScheduled = false
      const exhausted = this.startsThisTurn >= MAX_STARTS_PER_TURN
      this.startsThisTurn = 0
      if (exhausted && this.running && !this.paused) this.admitDue(performance.now())
    })
  }

  /** Arrivals waiting for a slot. */
  get queued(): number {
    return this.queue.length - this.queueHead
  }

  private count(second: number, started: number, dropped: number): void {
    const entry = this.counts.get(second)
    if (entry === undefined) this.counts.set(second, { second, started, dropped })
    else {
      entry.started += started
      entry.dropped += dropped
    }
  }

  private pickClass(): UserClass {
    if (this.classList.length === 1) return this.classList[0] as UserClass
    let r = Math.random() * this.totalWeight
    for (const c of this.classList) {
      r -= c.weight
      if (r < 0) return c
    }
    return this.classList[this.classList.length - 1] as UserClass
  }

  private startIteration(slot: Slot, intendedAt: number): void {
    slot.inFlight = this.runIteration(slot, intendedAt).finally(() => {
      slot.inFlight = null
      // A slot removed by resize() while busy is simply not returned to the pool.
      if (!this.stopped && !slot.retired) {
        this.free.push(slot)
        if (this.running && !this.paused) this.admitDue(performance.now())
      }
    })
  }

  private async runIteration(slot: Slot, intendedAt: number): Promise<void> {
    const userClass = this.pickClass()
    let ctx = slot.contexts.get(userClass.name)
    const deps = this.deps
    try {
      if (ctx === undefined) {
        const state: unknown = userClass.definition.state?.()
        ctx = new UserContext(
          deps.transport,
          deps.recorder,
          deps.log,
          userClass.name,
          this.nextUserIndex++,
          deps.workerIndexOf,
          state,
        )
        slot.contexts.set(userClass.name, ctx)
        if (userClass.definition.onStart !== undefined) await userClass.definition.onStart(ctx)
      }
      ctx.scheduleLagMs = Math.max(0, performance.now() - intendedAt)
      if (userClass.ordered) {
        // One iteration of a sequence is one pass through it.
        for (let step = 0; step < userClass.steps; step++) await userClass.taskAt(step)(ctx)
      } else {
        await userClass.taskAt(0)(ctx)
      }
    } catch (error) {
      if (taskErrorOutcome(error, ctx?.aborted === true) === 'report') deps.onException(userClass.name, error)
    }
  }
}
