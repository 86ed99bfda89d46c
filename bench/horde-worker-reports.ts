/**
 * Stats reports exactly as a real Horde worker sends them: requests go through the worker's own RequestStats
 * and StatsHistograms (the same `log` → `onLog` → `take` path as src/worker/worker.ts), on a simulated clock, with
 * response times drawn from a realistic distribution (log-normal body with a slow tail). Used by the master
 * benchmark's load generator and by master tests, so neither measures a master that real workers never meet.
 */
import { HORDE_EXTENSION_KEY } from '../src/protocol/horde-extension.js'
import type { StatsReport } from '../src/protocol/messages.js'
import { RequestStats } from '../src/worker/stats.js'
import { StatsHistograms } from '../src/worker/stats-histograms.js'

/** A small deterministic PRNG (mulberry32), so a seeded worker's samples can be replayed by a test. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A response time (ms): log-normal around `medianMs` (σ = 0.6), and 2 % of requests 5–40× slower (a GC pause,
 * a cold cache): the long tail real services show.
 */
export function realisticResponseTimeMs(random: () => number, medianMs: number): number {
  const u1 = Math.max(random(), 1e-12)
  const u2 = random()
  const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
  const body = medianMs * Math.exp(0.6 * normal)
  return random() < 0.02 ? body * (5 + random() * 35) : body
}

export interface SimulatedHordeWorker {
  /** Logs one request completing at `nowMs` (simulated clock). */
  log(method: string, name: string, responseTimeMs: number, nowMs: number, failed?: boolean): void
  /** The report the worker would send now: Locust's fields plus the Horde extension, then a reset. */
  takeReport(userCount: number): StatsReport
}

export function simulatedHordeWorker(startMs: number): SimulatedHordeWorker {
  let now = startMs
  const clock = () => now
  const stats = new RequestStats(clock)
  const histograms = new StatsHistograms(clock)
  stats.onLog = (entry, responseTimeMs, _failed, lagMs) => histograms.record(entry, responseTimeMs, lagMs)
  return {
    log(method, name, responseTimeMs, nowMs, failed = false) {
      now = nowMs
      stats.log(method, name, responseTimeMs, 512, failed ? 'HTTPError 500' : null)
    },
    takeReport(userCount) {
      const delta = stats.takeDelta()
      return {
        stats: delta.stats,
        statsTotal: delta.statsTotal,
        errors: delta.errors,
        userClassesCount: { Voter: userCount },
        userCount,
        extra: { [HORDE_EXTENSION_KEY]: histograms.take(3) },
      }
    },
  }
}

/**
 * One report interval of a worker: `requests` requests spread evenly over `intervalMs` ending at `endMs`, over
 * `endpoints` names (`/endpoint/<i>`, each with its own median), all recorded through the worker's encoder.
 */
export function simulatedReport(
  worker: SimulatedHordeWorker,
  random: () => number,
  options: { endMs: number; intervalMs: number; requests: number; endpoints: number; userCount: number },
): StatsReport {
  const { endMs, intervalMs, requests, endpoints } = options
  for (let i = 0; i < requests; i++) {
    const at = endMs - intervalMs + ((i + 0.5) * intervalMs) / requests
    const endpoint = i % endpoints
    worker.log(
      endpoint % 3 === 0 ? 'POST' : 'GET',
      `/endpoint/${endpoint}`,
      realisticResponseTimeMs(random, 5 + (endpoint % 10) * 12),
      at,
    )
  }
  return worker.takeReport(options.userCount)
}
