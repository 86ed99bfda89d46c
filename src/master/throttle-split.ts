/**
 * Splits the scenario's `throttle` (tasks per second across the run) over the Horde workers in proportion to
 * the users each runs, as the open model splits a rate: re-sent with every user table (ramp steps, a worker
 * joining, leaving or dying), so the run's total stays at the cap. Locust workers cannot throttle and get no
 * share: their users run uncapped (nothing warns about it yet).
 */
export function throttleShares(
  tps: number,
  table: ReadonlyMap<string, Record<string, number>>,
  isHorde: (id: string) => boolean,
): Map<string, number> {
  const users = new Map<string, number>()
  let total = 0
  for (const [id, counts] of table) {
    if (!isHorde(id)) continue
    const n = Object.values(counts).reduce((a, b) => a + b, 0)
    users.set(id, n)
    total += n
  }
  const shares = new Map<string, number>()
  for (const [id, n] of users) shares.set(id, total === 0 ? 0 : (tps * n) / total)
  return shares
}
