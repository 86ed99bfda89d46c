/**
 * Where the worker stands with its master, shared by the parts of the worker (the master link writes it; the
 * load and the reports read it), as the master's RunState is shared by its parts.
 */
export interface WorkerSession {
  /** Registered: the master has acked our client_ready (and not lost us since). */
  acked: boolean
  /** Our index among the master's workers (from its ack). */
  workerIndex: number
  /** Given up for good (quit, master lost, signal): no message is acted on again. */
  finished: boolean
  /** Set while the worker has lost its master and waits (rejoinWindowMs) to be accepted again. */
  detachedAt: number | null
}
