import type { RunResult } from '../src/shared/result.js'
import { compareRuns, type CompareOptions, type Comparison } from './compare.js'
import type { DatadogOptions } from './links.js'
import { renderTemplate } from './templates.js'
import { buildReportView } from './view.js'

export interface RenderOptions extends CompareOptions {
  /** The run to compare with; see publishRun/writeRunReport for how it is chosen. */
  baseline?: RunResult
  /** How the baseline was chosen, shown in the banner. Default 'previous-pass'. */
  baselineChosenBy?: Comparison['chosenBy']
  /** Relative href of the baseline's report (e.g. ../<run-id>/index.html). */
  baselineHref?: string
  /** Datadog site/service/env for log and trace links; links are omitted without it. */
  datadog?: DatadogOptions
  /** Download links, relative to the report. Default: result.json and the CSVs. */
  downloads?: string[]
  /** Relative href of the scenario's run list. */
  historyHref?: string
}

/**
 * The whole report as one self-contained HTML document: CSS, chart library, script and data inline,
 * nothing fetched. Pure: the same result and options give the same page (apart from the generated-at line).
 */
export function renderReport(result: RunResult, options: RenderOptions = {}): string {
  const comparison =
    options.baseline === undefined
      ? undefined
      : compareRuns(result, options.baseline, options.baselineChosenBy ?? 'previous-pass', options)
  const view = buildReportView(result, {
    ...(options.baseline !== undefined ? { baseline: options.baseline } : {}),
    ...(comparison !== undefined ? { comparison } : {}),
    ...(options.baselineHref !== undefined ? { baselineHref: options.baselineHref } : {}),
    ...(options.datadog !== undefined ? { datadog: options.datadog } : {}),
    ...(options.downloads !== undefined ? { downloads: options.downloads } : {}),
    ...(options.historyHref !== undefined ? { historyHref: options.historyHref } : {}),
  })
  return renderTemplate('report', view)
}
