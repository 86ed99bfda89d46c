import { createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'

/**
 * Horde-only messages between a Horde worker and a Horde master, carried as Locust custom messages so that
 * a Locust peer never sees them (the worker sends them only when it has something to say) or logs one
 * "unknown message" at most.
 *
 * - `horde_join` (worker → master, just before each `client_ready`): proof that the worker holds the run's
 *   join secret. The secret itself never travels: the proof is HMAC-SHA256(secret, "horde-join:" + node id),
 *   so a captured proof is useless to a process with another node id, and logs never hold the secret.
 * - `horde_refused` (master → worker): the join was refused (no proof, or a wrong one); the worker exits.
 * - `horde_final` (worker → master, just before `quit`): what the final stats cannot say, e.g. how many
 *   tasks were still running after the stop timeout and were abandoned.
 */
export const HORDE_JOIN_MESSAGE = 'horde_join'
export const HORDE_REFUSED_MESSAGE = 'horde_refused'
export const HORDE_FINAL_MESSAGE = 'horde_final'

export interface HordeJoin {
  v: 1
  proof: string
}

export interface HordeFinal {
  v: 1
  abandonedTasks: number
}

export interface HordeRefused {
  v: 1
  reason: string
}

const joinSchema = z.object({ v: z.literal(1), proof: z.string().regex(/^[0-9a-f]{64}$/) })
const finalSchema = z.object({ v: z.literal(1), abandonedTasks: z.number().int().min(0).max(1e9) })
const refusedSchema = z.object({ v: z.literal(1), reason: z.string().max(500) })

export function joinProof(secret: string, nodeId: string): string {
  return createHmac('sha256', secret).update(`horde-join:${nodeId}`).digest('hex')
}

/** Constant-time check of a received `horde_join` payload against the secret; false for anything malformed. */
export function verifyJoin(data: unknown, secret: string, nodeId: string): boolean {
  const parsed = joinSchema.safeParse(data)
  if (!parsed.success) return false
  const expected = Buffer.from(joinProof(secret, nodeId), 'hex')
  const received = Buffer.from(parsed.data.proof, 'hex')
  return received.length === expected.length && timingSafeEqual(received, expected)
}

export function parseHordeFinal(data: unknown): HordeFinal | null {
  const parsed = finalSchema.safeParse(data)
  return parsed.success ? parsed.data : null
}

export function parseHordeRefused(data: unknown): HordeRefused | null {
  const parsed = refusedSchema.safeParse(data)
  return parsed.success ? parsed.data : null
}
