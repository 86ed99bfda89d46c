import { renderDashboardData, renderDashboardPage } from '../../report/index.js'
import type { Coordinator } from '../master/coordinator.js'
import { Dashboard } from '../master/dashboard.js'

/** The master's live dashboard, drawn with the report's templates and charts (report/ renders, the master serves). */
export function createDashboard(coordinator: Coordinator, controlNeedsToken: boolean): Dashboard {
  return new Dashboard({
    coordinator,
    controlNeedsToken,
    renderer: { page: renderDashboardPage, data: renderDashboardData },
  })
}
