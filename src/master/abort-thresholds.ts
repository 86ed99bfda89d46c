import type { ThresholdResult } from '../shared/result.js'
import type { WindowView } from './aggregator.js'
import { evaluateThreshold, type ParsedThreshold } from './thresholds.js'

/**
 * k6's abortOnFail: thresholds checked every second on the measured window (after their delayAbortEval), so a
 * run that has already failed stops instead of loading the target for nothing.
 */
export class AbortThresholds {
  readonly #thresholds: ParsedThreshold[]

  constructor(thresholds: readonly ParsedThreshold[]) {
    this.#thresholds = thresholds.filter((t) => t.source.abortOnFail)
  }

  /** The first abortOnFail threshold failing now, or null. */
  check(measured: WindowView, nowMs: number, measuredFromMs: number): ThresholdResult | null {
    if (nowMs < measuredFromMs) return null
    for (const threshold of this.#thresholds) {
      if (nowMs - measuredFromMs < (threshold.source.delayAbortEvalMs ?? 0)) continue
      const result = evaluateThreshold(threshold, measured, (nowMs - measuredFromMs) / 1000)
      if (result.observed !== null && !result.ok) return result
    }
    return null
  }
}
