import type { Logger } from '../shared/logger.js'
import type { RunEvent, RunEventKind } from '../shared/result.js'

/**
 * The run's event log: what result.json, the report and the verdict read. Each event is also a log line and is
 * handed to the live listener (the console), so the three never disagree.
 */
export class RunEventLog {
  readonly #events: RunEvent[] = []
  readonly #log: Logger
  readonly #onEvent: ((event: RunEvent) => void) | undefined

  constructor(log: Logger, onEvent?: (event: RunEvent) => void) {
    this.#log = log
    this.#onEvent = onEvent
  }

  get all(): readonly RunEvent[] {
    return this.#events
  }

  emit(kind: RunEventKind, message: string, details?: Record<string, unknown>, workerId?: string): void {
    const event: RunEvent = { timeMs: Date.now(), kind, message }
    if (workerId !== undefined) event.workerId = workerId
    if (details !== undefined) event.details = details
    this.#events.push(event)
    this.#log.info({ event: kind, workerId, ...details }, message)
    this.#onEvent?.(event)
  }
}
