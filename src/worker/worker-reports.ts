import type { StatsReport } from '../protocol/messages.js'
import { HORDE_EXTENSION_KEY, encodeHistogram } from '../protocol/horde-extension.js'
import { TRACE_SAMPLES_KEY, encodeTraceSamples } from '../protocol/trace-samples.js'
import type { WorkerSocket } from '../protocol/transport.js'
import { takeWorkerPoolWaitMaxMs } from './db/db-pools.js'
import type { HealthMonitor } from './health.js'
import type { HttpTransport } from './http/http-client.js'
import type { OpenModelRunner } from './open-model.js'
import type { RequestStats } from './stats.js'
import type { StatsHistograms } from './stats-histograms.js'
import type { UserPool } from './user-pool.js'
import { errorText } from './user-runner.js'

/** A task that throws in a tight loop must not flood the master: the rest of the second is counted, not sent. */
const MAX_EXCEPTIONS_PER_SECOND = 50

/**
 * What the worker tells the master about its load: the stats report (Locust's fields, plus Horde's histograms,
 * open-model counts and trace samples under `extra`) and task exceptions, at most 50 a second.
 */
export class WorkerReports {
  private exceptionsThisSecond = 0
  private exceptionSecond = 0
  /** Exceptions over the per-second cap, counted for the worker's last log line. */
  droppedExceptions = 0

  constructor(
    private readonly socket: WorkerSocket,
    private readonly stats: RequestStats,
    private readonly histograms: StatsHistograms,
    private readonly health: HealthMonitor,
    private readonly pool: UserPool,
    private readonly transport: HttpTransport,
  ) {}

  /** `open`: the open-model runner whose counts go into this report (still passed while it stops). */
  sendStats(open: OpenModelRunner | null): void {
    const delta = this.stats.takeDelta()
    const openState =
      open === null
        ? undefined
        : {
            targetRps: open.targetRps,
            inFlight: open.inFlight,
            maxInFlight: open.maxInFlight,
            maxStartLagMs: Math.round(open.maxStartLagMs * 100) / 100,
            startLagHist: encodeHistogram(open.startLag),
            paused: this.pool.paused,
          }
    if (open !== null) {
      open.maxStartLagMs = 0
      open.startLag.reset()
    }
    const report: StatsReport = {
      stats: delta.stats,
      statsTotal: delta.statsTotal,
      errors: delta.errors,
      userClassesCount: this.pool.counts(),
      userCount: this.pool.userCount,
      extra: {
        [HORDE_EXTENSION_KEY]: this.histograms.take(
          this.health.takeLoopDelayMaxMs(),
          open?.takeCounts() ?? [],
          openState,
          takeWorkerPoolWaitMaxMs(this.stats),
        ),
      },
    }
    const traces = this.transport.tracer?.takeSamples()
    if (traces !== undefined && traces.length > 0)
      report.extra[TRACE_SAMPLES_KEY] = encodeTraceSamples(traces)
    this.socket.send({ type: 'stats', report })
  }

  reportException(userClass: string, error: unknown): void {
    const second = Math.floor(Date.now() / 1000)
    if (second !== this.exceptionSecond) {
      this.exceptionSecond = second
      this.exceptionsThisSecond = 0
    }
    if (++this.exceptionsThisSecond > MAX_EXCEPTIONS_PER_SECOND) {
      this.droppedExceptions++
      return
    }
    const traceback =
      error instanceof Error && error.stack !== undefined
        ? error.stack.split('\n').slice(1).join('\n')
        : `in a task of user class ${userClass}`
    this.socket.send({ type: 'exception', msg: errorText(error), traceback })
  }
}
