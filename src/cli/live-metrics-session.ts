import type { Logger } from '../shared/logger.js'
import type { StatsdTarget } from '../shared/statsd.js'
import type { LiveMetrics, LiveMetricsSource } from '../master/live-metrics.js'
import type { MasterPlan } from '../master/plan.js'

/**
 * Live metrics for a master session, or null when no DogStatsD target is set (then nothing is loaded). The
 * coordinator is passed lazily: the per-second hook is wired before it starts.
 */
export async function startLiveMetrics(
  target: StatsdTarget | null,
  plan: MasterPlan,
  logger: Logger,
  source: () => LiveMetricsSource | undefined,
): Promise<LiveMetrics | null> {
  if (target === null) return null
  const { LiveMetrics } = await import('../master/live-metrics.js')
  return LiveMetrics.start({
    target,
    runId: plan.runId,
    scenario: plan.scenarioName,
    logger,
    source: () => {
      try {
        return source() ?? null
      } catch {
        // Not started yet (the hook fires only once it runs, but be safe).
        return null
      }
    },
  })
}
