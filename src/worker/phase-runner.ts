import type { Logger } from '../shared/logger.js'
import { redactUrlCredentials } from '../shared/redact.js'
import type { HordePhaseDone, HordePhaseRequest } from '../protocol/horde-phase.js'
import { UserDb } from './db/db-client.js'
import { closeWorkerDbPools } from './db/db-pools.js'
import { RequestStats } from './stats.js'
import type { PhaseContext, Scenario } from './scenario-types.js'

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
