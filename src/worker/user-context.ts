import type { Logger } from '../shared/logger.js'
import { UserHttpClient, UserAbortedError, type HttpTransport, type RequestGate } from './http/http-client.js'
import type { Recorder } from './stats.js'
import type { RecordSample, TaskContext } from './scenario-types.js'
import { UserDb } from './db/db-client.js'

/** Errors already recorded as request failures by `measure`, so the runner does not report them twice. */
export const recordedErrors = new WeakSet<object>()

/**
 * The context every task of one user receives. A class, so its methods live on the prototype and a user
 * costs a handful of fields: 50,000 idle users must fit in a few hundred MB. `measure` and `record` are
 * getters that hand out a function bound to this user (made on first use), so a task may destructure
 * them as the README shows (`({ record }) => record(...)`) without `this` being lost.
 */
export class UserContext<State = unknown> implements TaskContext<State>, RequestGate {
  readonly http: UserHttpClient
  state: State
  /** Hard stop: no new request starts; in-flight ones end the task. */
  aborted = false
  /** Open model: lateness of the current iteration against its schedule (see RequestGate). */
  scheduleLagMs = 0
  private controller: AbortController | null = null
  private boundMeasure: TaskContext['measure'] | null = null
  private boundRecord: TaskContext['record'] | null = null
  private userDb: UserDb | null = null

  constructor(
    transport: HttpTransport,
    private readonly recorder: Recorder,
    readonly log: Logger,
    readonly userClass: string,
    readonly userIndex: number,
    private readonly workerIndexOf: () => number,
    state: State,
  ) {
    this.http = new UserHttpClient(transport, recorder, this)
    this.state = state
  }

  get workerIndex(): number {
    return this.workerIndexOf()
  }

  /** Made on first use: most scenarios never touch it, and an AbortController per user is not free. */
  get signal(): AbortSignal {
    this.controller ??= new AbortController()
    if (this.aborted && !this.controller.signal.aborted) this.controller.abort(new UserAbortedError())
    return this.controller.signal
  }

  abort(): void {
    this.aborted = true
    this.controller?.abort(new UserAbortedError())
  }

  get measure(): TaskContext['measure'] {
    this.boundMeasure ??= (type, name, fn) => this.measureNow(type, name, fn)
    return this.boundMeasure
  }

  get record(): TaskContext['record'] {
    this.boundRecord ??= (sample) => this.recordNow(sample)
    return this.boundRecord
  }

  /** Made on first use; its pools belong to the worker (keyed by its recorder) and are shared by all users. */
  get db(): UserDb {
    this.userDb ??= new UserDb(this.recorder, this.log, this, recordedErrors)
    return this.userDb
  }

  private async measureNow<T>(type: string, name: string, fn: () => Promise<T> | T): Promise<T> {
    if (this.aborted) throw new UserAbortedError()
    const startedAt = performance.now()
    let result: T
    try {
      result = await fn()
    } catch (error) {
      if (this.aborted) throw error
      this.recorder.log(type, name, performance.now() - startedAt, 0, errorText(error), this.scheduleLagMs)
      if (typeof error === 'object' && error !== null) recordedErrors.add(error)
      throw error
    }
    this.recorder.log(type, name, performance.now() - startedAt, byteLength(result), null, this.scheduleLagMs)
    return result
  }

  private recordNow(sample: RecordSample): void {
    const error = sample.error === undefined || sample.error === null ? null : errorText(sample.error)
    this.recorder.log(sample.type, sample.name, sample.responseTimeMs, sample.bytes ?? 0, error)
  }
}

/** The text that identifies an error in the failures table: "Name: message", stable across occurrences. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error))
}

function byteLength(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value)
  if (value instanceof Uint8Array) return value.byteLength
  return 0
}
