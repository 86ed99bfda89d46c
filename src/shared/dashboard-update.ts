/**
 * One live-dashboard update as report/dashboard.ts renders it and the master sends it: the chart's columns
 * (report/chart-data.ts), the status line and the shared sections as HTML. Lives in shared/ because the master
 * serves it and report/ renders it, and neither imports the other.
 */
export interface DashboardUpdate {
  chart: Readonly<Record<string, unknown>>
  status: Readonly<Record<string, unknown>>
  sections: Readonly<Record<string, string>>
}
