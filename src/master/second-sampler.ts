import { LiveRate } from './live-rate.js'
import type { StatsAggregator } from './aggregator.js'
import type { OpenModelStats } from './open-model-stats.js'
import type { MasterPlan } from './plan.js'
import type { RunPhase, RunState } from './run-state.js'
import type { WorkerRegistry } from './worker-registry.js'
import { txProgress, type TxProgress } from './tx-progress.js'

/** One sample per second: what the master asked for and what the workers said they ran. */
export interface Sample {
  second: number
  targetUsers: number
  dispatchedUsers: number
  users: number
  workers: number
  phase: string
  warmup: boolean
  /** Open model: the global rate the master asked for in this second. */
  targetRps?: number
  paused?: boolean
}

export interface Progress {
  elapsedMs: number
  users: number
  targetUsers: number
  workers: number
  rps: number
  failuresPerSec: number
  /** Task exceptions workers reported per second (a worker sends at most 50 a second). */
  exceptionsPerSec: number
  p95Ms: number | null
  phase: RunPhase
  warmup: boolean
  /** Open model only: the rate asked for now, and iterations started and dropped per second (same window as rps). */
  open?: { targetRps: number; startedPerSec: number; droppedPerSec: number }
  /** Database runs: tps and latency per transaction type (same window as p95). */
  tx?: TxProgress
}

/** What the planner (closed model) or the splitter (open model) asks for this second. */
export interface Asked {
  targetUsers: number
  dispatchedUsers: number
  /** The stage in force (-1 without stages). */
  stage: number
  /** Open model: the global rate asked for at a time (epoch ms). */
  rpsAt: (timeMs: number) => number
}

const RATE_WINDOW_SECONDS = 3
/** Reports arrive every 3 s: seconds older than this are complete enough for the live rate. */
const RATE_LAG_SECONDS = 4

/**
 * Every second: one sample of asked-for against reported users (the verdict's under-target check and the report's
 * time series read these), the phase written into the second's stats bin, and the live progress line.
 */
export class SecondSampler {
  readonly #samples: Sample[] = []
  readonly #plan: MasterPlan
  readonly #state: RunState
  readonly #registry: WorkerRegistry
  readonly #aggregator: StatsAggregator
  readonly #open: OpenModelStats | null
  readonly #onProgress: ((progress: Progress) => void) | undefined
  /** Called once a second's bin is labelled (live metrics send it from there). */
  readonly #onSecond: ((second: number) => void) | undefined
  /** Horde workers' heartbeat counts: a current rate for the progress line (merged stats lag 4–6 s). */
  readonly liveRate = new LiveRate()
  /** Arrival times of recent exceptions, for the progress line's exc/s (bounded: workers send ≤ 50/s each). */
  #exceptionTimes: number[] = []

  constructor(
    plan: MasterPlan,
    state: RunState,
    registry: WorkerRegistry,
    aggregator: StatsAggregator,
    open: OpenModelStats | null,
    onProgress: ((progress: Progress) => void) | undefined,
    onSecond?: (second: number) => void,
  ) {
    this.#onSecond = onSecond
    this.#plan = plan
    this.#state = state
    this.#registry = registry
    this.#aggregator = aggregator
    this.#open = open
    this.#onProgress = onProgress
  }

  get samples(): readonly Sample[] {
    return this.#samples
  }

  noteException(nowMs: number): void {
    this.#exceptionTimes.push(nowMs)
  }

  sample(now: number, asked: Asked): void {
    const second = Math.floor(now / 1000)
    const users = this.#registry.reportedUsers()
    const workers = this.#registry.active().length
    const { phase: runPhase, paused, loadStartMs } = this.#state
    const warmup = loadStartMs !== null && second < this.#aggregator.measuredFromSec
    if (runPhase === 'running' || runPhase === 'stopping') {
      const phase =
        runPhase === 'stopping'
          ? 'stopping'
          : paused
            ? 'paused'
            : asked.stage >= 0
              ? `stage-${asked.stage + 1}`
              : warmup
                ? 'warmup'
                : 'steady'
      const sample: Sample = {
        second,
        targetUsers: asked.targetUsers,
        dispatchedUsers: asked.dispatchedUsers,
        users,
        workers,
        phase,
        warmup,
        paused,
      }
      if (this.#plan.open !== null && runPhase === 'running') {
        // The rate at mid-second: the mean over the second during a linear ramp, as the started count is.
        const midSecond = Math.max(second * 1000 + 500, loadStartMs ?? 0)
        const targetRps = paused ? 0 : asked.rpsAt(midSecond)
        sample.targetRps = targetRps
        this.#open?.targetRps.set(second, targetRps)
      }
      this.#samples.push(sample)
      const bin = this.#aggregator.bin(second)
      bin.users = users
      bin.workers = workers
      bin.phase = phase
      this.#onSecond?.(second)
    }
    if (this.#onProgress !== undefined && runPhase !== 'done') {
      this.#onProgress(this.#progress(now, second, users, workers, warmup, asked.targetUsers))
    }
  }

  #progress(
    now: number,
    second: number,
    users: number,
    workers: number,
    warmup: boolean,
    targetUsers: number,
  ): Progress {
    const from = second - RATE_LAG_SECONDS - RATE_WINDOW_SECONDS + 1
    const { requests, failures } = this.#aggregator.requestsBetween(from, from + RATE_WINDOW_SECONDS)
    let p95: number | null = null
    for (let s = from + RATE_WINDOW_SECONDS - 1; s >= from && p95 === null; s--) {
      p95 = this.#aggregator.seconds.get(s)?.percentileMs(0.95) ?? null
    }
    // Exceptions arrive as they happen (not in 3 s reports): the last RATE_WINDOW_SECONDS, unlagged.
    const since = now - RATE_WINDOW_SECONDS * 1000
    this.#exceptionTimes = this.#exceptionTimes.filter((t) => t > since)
    const loadStartMs = this.#state.loadStartMs
    const activeIds = this.#registry.active().map((node) => node.id)
    const live = this.liveRate.rate(now, RATE_WINDOW_SECONDS * 1000, activeIds)
    const tx = txProgress(this.#aggregator.seconds, from, RATE_WINDOW_SECONDS)
    return {
      elapsedMs: loadStartMs === null ? 0 : now - loadStartMs,
      exceptionsPerSec: this.#exceptionTimes.length / RATE_WINDOW_SECONDS,
      users,
      targetUsers,
      workers,
      rps: live?.requests ?? requests / RATE_WINDOW_SECONDS,
      failuresPerSec: live?.failures ?? failures / RATE_WINDOW_SECONDS,
      p95Ms: p95,
      phase: this.#state.phase,
      warmup,
      ...(this.#plan.open !== null && this.#open !== null ? { open: this.#openProgress(from) } : {}),
      ...(tx !== undefined ? { tx } : {}),
    }
  }

  /** The same lagged window as the progress line's rps, so that target and achieved compare like for like. */
  #openProgress(fromSec: number): NonNullable<Progress['open']> {
    const counts = this.#open?.countsBetween(fromSec, fromSec + RATE_WINDOW_SECONDS)
    let target = 0
    for (let second = fromSec; second < fromSec + RATE_WINDOW_SECONDS; second++)
      target += this.#open?.targetRps.get(second) ?? 0
    return {
      targetRps: target / RATE_WINDOW_SECONDS,
      startedPerSec: (counts?.started ?? 0) / RATE_WINDOW_SECONDS,
      droppedPerSec: (counts?.dropped ?? 0) / RATE_WINDOW_SECONDS,
    }
  }
}
