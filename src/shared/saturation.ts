/**
 * When a load generator's own numbers stop being trustworthy. Defined once: the worker warns with these, the
 * master counts saturated seconds with them, and the verdict turns enough of those seconds into `invalid`.
 */

/** Locust's CPU warning threshold (CPU_WARNING_THRESHOLD), % of one core. */
export const CPU_SATURATED_PERCENT = 90
/** An event-loop stall this long delays every user's timers and responses: measured latencies are inflated. */
export const LOOP_BLOCKED_MS = 250
