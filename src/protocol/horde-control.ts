import { z } from 'zod'

/**
 * Horde-only control of a Horde worker by a Horde master, carried as a Locust custom message (type
 * `horde_control`), so a Locust master never sends it and a Locust worker would only log "unknown message".
 *
 * - `paused`: stop starting new tasks/iterations; in-flight ones finish. Stats keep flowing.
 * - `open`: switch this worker to the open model: start iterations at `rps` (this worker's share of the
 *   global rate), ramping linearly from the current rate over `rampMs`, with at most `maxInFlight`
 *   concurrent iterations; an arrival that finds none free is dropped and counted. `null` returns to the
 *   closed model (users from `spawn`).
 */
export const HORDE_CONTROL_MESSAGE = 'horde_control'

export interface HordeControl {
  v: 1
  paused?: boolean
  open?: { rps: number; maxInFlight: number; rampMs: number } | null
  /** Closed model: this worker's share of the scenario's `throttle` (tasks per second; 0 = no cap). */
  throttleTps?: number
}

const controlSchema = z.object({
  v: z.literal(1),
  paused: z.boolean().optional(),
  open: z
    .object({
      rps: z.number().min(0).finite(),
      maxInFlight: z.number().int().min(1),
      rampMs: z.number().min(0).finite(),
    })
    .nullable()
    .optional(),
  throttleTps: z.number().min(0).finite().optional(),
})

/** Validates a received control message (the codec hands custom data over as plain objects); null, never a throw. */
export function parseHordeControl(data: unknown): HordeControl | null {
  const parsed = controlSchema.safeParse(data)
  return parsed.success ? parsed.data : null
}
