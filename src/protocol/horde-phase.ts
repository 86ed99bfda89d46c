import { z } from 'zod'

/**
 * Horde-only run phases (JdbcRunner's init / run / fin, distributed), as Locust custom messages so a Locust
 * peer never meets them. The master is the barrier: it starts the load only when every worker told to run
 * `init` has answered, and runs `fin` only after every worker has answered `drain` (its load stopped).
 *
 * master → worker `horde_phase`: `{ v: 1, phase, run, agentId, agents }`. `run` false: nothing to do but answer
 * (init runs on one worker unless the scenario asks for one init per agent).
 * worker → master `horde_phase_done`: `{ v: 1, phase, ok, error?, durationMs }`.
 */
export const HORDE_PHASE_MESSAGE = 'horde_phase'
export const HORDE_PHASE_DONE_MESSAGE = 'horde_phase_done'

export type PhaseName = 'init' | 'drain' | 'fin'

export interface HordePhaseRequest {
  v: 1
  phase: PhaseName
  run: boolean
  /** 0-based agent number of this worker among the run's Horde workers (JdbcRunner's agent id). */
  agentId: number
  agents: number
}

export interface HordePhaseDone {
  v: 1
  phase: PhaseName
  ok: boolean
  /** Why it failed: the phase's error message (never a stack; secrets redacted by the worker). */
  error?: string
  durationMs: number
}

const phase = z.enum(['init', 'drain', 'fin'])
const requestSchema = z.object({
  v: z.literal(1),
  phase,
  run: z.boolean(),
  agentId: z.number().int().min(0),
  agents: z.number().int().min(1),
})
const doneSchema = z.object({
  v: z.literal(1),
  phase,
  ok: z.boolean(),
  error: z.string().max(4000).optional(),
  durationMs: z.number().min(0).finite(),
})

/** Validates a received request; null, never a throw. */
export function parseHordePhaseRequest(data: unknown): HordePhaseRequest | null {
  const parsed = requestSchema.safeParse(data)
  return parsed.success ? parsed.data : null
}

/** Validates a received answer; null, never a throw. */
export function parseHordePhaseDone(data: unknown): HordePhaseDone | null {
  const parsed = doneSchema.safeParse(data)
  return parsed.success ? parsed.data : null
}
