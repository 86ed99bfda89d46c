import type { Logger } from '../shared/logger.js'
import { redactUrlCredentials } from '../shared/redact.js'
import type { HordePhaseDone, HordePhaseRequest } from '../protocol/horde-phase.js'
import { UserDb, type DbApi } from './db/db-client.js'
import { closeWorkerDbPools } from './db/db-pools.js'
import { RequestStats } from './stats.js'
import type { Scenario } from './scenario-types.js'

/** What `init` and `fin` receive. */
export interface PhaseContext {
  /** Databases, as in tasks; a phase's queries are not part of the results (they run outside the load). */
  readonly db: DbApi
  readonly log: Logger
  /** 0-based number of this worker among the run's Horde workers (JdbcRunner's agent id). */
  readonly agentId: number
  /** How many Horde workers the run has. */
  readonly agents: number
}

/** A phase body: `init` prepares data, `fin` checks invariants (throw to make the run fail with the message). */
export type PhaseFn = (ctx: PhaseContext) => unknown

/**
 * Answers one `horde_phase` request: `drain` stops this worker's load (the barrier before `fin`); `init` / `fin`
 * run the scenario's function when told to. Never throws: a failure is the answer.
 */
export async function runWorkerPhase(
  request: HordePhaseRequest,
  scenario: Scenario,
  log: Logger,
  drain: () => Promise<void>,
): Promise<HordePhaseDone> {
  const startedAt = performance.now()
  const done = (ok: boolean, error?: string): HordePhaseDone => ({
    v: 1,
    phase: request.phase,
    ok,
    ...(error !== undefined ? { error } : {}),
    durationMs: Math.round(performance.now() - startedAt),
  })
  if (request.phase === 'drain') {
    await drain()
    return done(true)
  }
  const fn = request.phase === 'init' ? scenario.init : scenario.fin
  if (!request.run || fn === undefined) return done(true)
  log.info(
    { phase: request.phase, agentId: request.agentId, agents: request.agents },
    `${request.phase} started`,
  )
  // Its own recorder, so its own pools: phase queries stay out of the load's stats and its pools close with it.
  const recorder = new RequestStats()
  const gate = { aborted: false, scheduleLagMs: 0 }
  const context: PhaseContext = {
    db: new UserDb(recorder, log, gate, new WeakSet()),
    log,
    agentId: request.agentId,
    agents: request.agents,
  }
  try {
    await fn(context)
    log.info(
      { phase: request.phase, durationMs: Math.round(performance.now() - startedAt) },
      `${request.phase} done`,
    )
    return done(true)
  } catch (error) {
    const message = redactUrlCredentials(error instanceof Error ? error.message : String(error)).slice(
      0,
      2000,
    )
    log.error({ phase: request.phase, err: message }, `${request.phase} failed`)
    return done(false, message)
  } finally {
    await closeWorkerDbPools(recorder)
  }
}
