/** What the live dashboard shows beyond result.json's model: the master fills it, report/dashboard.ts renders it. */
export interface LiveState {
  phase: string
  paused: boolean
  elapsedMs: number
  /** Users the workers report running, and the users asked for. */
  users: number
  targetUsers: number
  /** Open model: the rate asked for now. */
  targetRps: number | null
  /** The control API asks for a bearer token on pause/resume/target/stop. */
  controlNeedsToken: boolean
  workers: Array<{ id: string; state: string; users: number; cpuPercent: number }>
}
