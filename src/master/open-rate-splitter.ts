import { rateAt, type RateNow } from './plan.js'
import type { DispatchParts } from './run-state.js'
import type { WorkerNode } from './worker-registry.js'

/**
 * The open model (a target rate): follows the plan's rate stages or the last retarget, and splits the global
 * rate and the in-flight bound evenly over the Horde workers, again whenever the worker set changes, so the
 * target keeps receiving the same rate when a worker dies.
 */
export class OpenRateSplitter {
  readonly #p: DispatchParts
  /** Set by a retarget: replaces the plan's rate schedule for the rest of the run. */
  #override: { fromRps: number; toRps: number; startMs: number; rampMs: number } | null = null
  /** -2 at first, which no stage has, so the first apply sends the rates. */
  #stage = -2
  readonly #warnedNotOpen = new Set<string>()

  constructor(parts: DispatchParts) {
    this.#p = parts
  }

  get stage(): number {
    return this.#stage
  }

  /** The global rate now and where it is heading: the plan's stages, or the last retarget. */
  rateNow(nowMs: number): RateNow {
    const open = this.#p.plan.open
    if (open === null || this.#p.state.loadStartMs === null)
      return { rps: 0, targetRps: 0, remainingMs: 0, stage: -1 }
    const override = this.#override
    if (override !== null) {
      const into = nowMs - override.startMs
      if (override.rampMs <= 0 || into >= override.rampMs) {
        return { rps: override.toRps, targetRps: override.toRps, remainingMs: 0, stage: this.#stage }
      }
      const rps = override.fromRps + ((override.toRps - override.fromRps) * into) / override.rampMs
      return { rps, targetRps: override.toRps, remainingMs: override.rampMs - into, stage: this.#stage }
    }
    return rateAt(open, nowMs - this.#p.state.loadStartMs)
  }

  /** Sends rates at load start and at each stage change; called at start and every tick. */
  apply(nowMs: number): void {
    if (this.#p.state.phase !== 'running' || this.#p.state.loadStartMs === null) return
    const now = this.rateNow(nowMs)
    if (this.#override === null && now.stage !== this.#stage) {
      this.#stage = now.stage
      if (now.stage >= 0) {
        this.#p.events.emit(
          'stage-started',
          `rate stage ${now.stage + 1} of ${this.#p.plan.open?.stages?.length ?? 0}: to ${now.targetRps}/s over ${Math.round(now.remainingMs / 1000)} s`,
          { stage: now.stage, targetRps: now.targetRps },
        )
      }
      this.send()
    }
  }

  /** The rate for the rest of the run, reached by a linear ramp over `rampMs` (0: at once). */
  retarget(toRps: number, rampMs: number, nowMs: number): void {
    const fromRps = this.rateNow(nowMs).rps
    this.#override = { fromRps, toRps, startMs: nowMs, rampMs }
    this.#p.events.emit('retargeted', `rate ${round1(fromRps)}/s → ${toRps}/s over ${rampMs / 1000} s`, {
      fromRps,
      toRps,
      rampMs,
    })
    this.send()
  }

  /**
   * Splits the rate now (at once) and then the ramp to where the stage (or retarget) is heading in the time left.
   */
  send(): void {
    if (this.#p.state.phase !== 'running' || this.#p.plan.open === null) return
    const workers = this.#openWorkers()
    if (workers.length === 0) return
    const now = this.rateNow(Date.now())
    const maxInFlight = Math.max(1, Math.ceil(this.#p.plan.users / workers.length))
    for (const node of workers) {
      // A spawn with no users first: it carries the host and stop_timeout, and starts the test on the worker.
      this.#p.link.spawn(node.id, Object.fromEntries(this.#p.plan.userClasses.map((c) => [c.name, 0])))
      this.#p.link.control(node.id, { v: 1, open: { rps: now.rps / workers.length, maxInFlight, rampMs: 0 } })
      if (now.remainingMs > 0 && now.targetRps !== now.rps) {
        this.#p.link.control(node.id, {
          v: 1,
          open: { rps: now.targetRps / workers.length, maxInFlight, rampMs: now.remainingMs },
        })
      }
      if (this.#p.state.paused) this.#p.link.control(node.id, { v: 1, paused: true })
    }
  }

  /** Workers that can run the open model: Horde (and Boomer) announce -1; Locust workers cannot. */
  #openWorkers(): WorkerNode[] {
    const workers = this.#p.registry.active()
    for (const node of workers) {
      if (node.version !== -1 && !this.#warnedNotOpen.has(node.id)) {
        this.#warnedNotOpen.add(node.id)
        this.#p.log.warn(
          { workerId: node.id, version: node.version },
          'a Locust worker cannot run the open model (target rate): it gets no load; use Horde workers',
        )
      }
    }
    return workers.filter((node) => node.version === -1)
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}
