import type { StatsReport } from '../protocol/messages.js'
import { decodeHordeExtension, unknownHordeExtensionVersion } from '../protocol/horde-extension.js'
import type { Logger } from '../shared/logger.js'
import type { StatsAggregator } from './aggregator.js'
import type { OpenModelStats } from './open-model-stats.js'
import { ReportQueue } from './report-queue.js'
import type { RunEventLog } from './run-events.js'

interface PendingReport {
  workerId: string
  report: StatsReport
  receivedAtMs: number
}

/**
 * Merge time per event-loop turn. With the receive slice (4 ms) and the send slice (3 ms) that may share a turn,
 * the longest turn stays under the 20 ms the master promises.
 */
const MERGE_SLICE_MS = 5

export interface IntakeOptions {
  /** Sees each report's `extra` once merged (trace samples ride there). */
  onReportExtra?: (extra: Record<string, unknown>) => void
  /** How long frames have waited unread on the master socket (ms), 0 when it is caught up. */
  receiveBacklogMs?: (now: number) => number
}

/** A report that waited this long to be merged, or a 1 s tick this late, means the master is falling behind. */
const BEHIND_MS = 2000

/**
 * Worker stats reports on their way into the aggregator: queued and merged in time-boxed slices, so a burst never
 * holds the loop (report-queue.ts), and watched so that a master falling behind says so.
 */
export class StatsIntake {
  readonly #aggregator: StatsAggregator
  readonly #open: OpenModelStats | null
  readonly #log: Logger
  readonly #events: RunEventLog
  readonly #queue: ReportQueue<PendingReport>
  readonly #warnedVersion = new Set<string>()
  #behind = false
  #lastTickMs: number | null = null

  readonly #onReportExtra: ((extra: Record<string, unknown>) => void) | undefined

  /** How long frames have waited unread on the socket (transport.ts): a master can fall behind there too. */
  readonly #receiveBacklogMs: (now: number) => number

  constructor(
    aggregator: StatsAggregator,
    open: OpenModelStats | null,
    log: Logger,
    events: RunEventLog,
    options: IntakeOptions = {},
  ) {
    this.#onReportExtra = options.onReportExtra
    this.#receiveBacklogMs = options.receiveBacklogMs ?? (() => 0)
    this.#aggregator = aggregator
    this.#open = open
    this.#log = log
    this.#events = events
    this.#queue = new ReportQueue<PendingReport>(
      (pending) => this.#merge(pending),
      MERGE_SLICE_MS,
      (error) => this.#log.error({ err: error }, 'stats report merge failed'),
    )
  }

  push(workerId: string, report: StatsReport, receivedAtMs: number): void {
    this.#queue.push({ workerId, report, receivedAtMs }, receivedAtMs)
  }

  /** Merges everything still queued (at the end of the run). */
  flush(): void {
    this.#queue.flush()
  }

  /** Longest report-merge slice so far (ms): the master's own loop-turn cost for stats. */
  get maxMergeSliceMs(): number {
    return this.#queue.maxSliceMs
  }

  /** Called every tick: says once that the master is falling behind, and again once it has caught up. */
  checkBehind(now: number): void {
    const tickLateMs = this.#lastTickMs === null ? 0 : now - this.#lastTickMs - 1000
    this.#lastTickMs = now
    const waitingMs = this.#queue.oldestAgeMs(now)
    const unreadMs = this.#receiveBacklogMs(now)
    const lateMs = Math.max(waitingMs, tickLateMs, unreadMs)
    if (!this.#behind && lateMs >= BEHIND_MS) {
      this.#behind = true
      const details = {
        waitingReports: this.#queue.length,
        oldestReportWaitMs: waitingMs,
        tickLateMs,
        receiveBacklogMs: unreadMs,
      }
      this.#log.warn(details, 'master is falling behind: stats are merged late and liveness may lag')
      this.#events.emit(
        'master-behind',
        `master is falling behind: ${this.#queue.length} reports waiting (oldest ${Math.round(waitingMs / 1000)} s), frames unread for ${Math.round(unreadMs / 1000)} s, ticks ${Math.round(tickLateMs)} ms late`,
        details,
      )
    } else if (this.#behind && lateMs < BEHIND_MS / 4) {
      this.#behind = false
      this.#log.info({ waitingReports: this.#queue.length }, 'master caught up')
    }
  }

  /** Merges one report: its Horde extension is validated once and serves both the stats and the open model. */
  #merge({ workerId, report, receivedAtMs }: PendingReport): void {
    const extension = decodeHordeExtension(report.extra)
    if (extension === null && !this.#warnedVersion.has(workerId)) {
      const version = unknownHordeExtensionVersion(report.extra)
      if (version !== null) {
        this.#warnedVersion.add(workerId)
        this.#log.warn(
          { workerId, extensionVersion: version },
          'worker sent a Horde stats extension this master does not read (another Horde version?): its percentiles use Locust buckets (±5 %); run the same Horde version on master and workers',
        )
      }
    }
    this.#aggregator.addReport(workerId, report, receivedAtMs, extension)
    if (this.#open !== null && extension !== null) this.#open.add(extension)
    this.#onReportExtra?.(report.extra)
  }
}
