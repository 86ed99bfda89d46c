/**
 * The report's one public entry: what everything outside report/ uses — the CLI, the actions and bench/ — so
 * report/'s inner files can move without breaking them (test/architecture/imports.test.ts holds the rule).
 * report/ reads result files and stores; it never imports the master. Inside report/, render.ts (HTML from
 * one result) and publish.ts (folders, stores, history) stay independent: publish uses render, never the
 * other way round. Unit tests in test/report may still import the file they test.
 */
export { renderReport, type RenderOptions } from './render.js'
export {
  writeRunReport,
  publishRun,
  type WriteRunReportOptions,
  type PublishOptions,
  type PublishResult,
} from './publish.js'
export { rebuildIndexes, runDir, summarize, type RebuildResult, type RunSummary } from './history.js'
export { loadRunResult, parseRunResult, slug } from './load.js'
export { openStore, localStore, parseGcsUrl, type Store } from './store/index.js'
export { renderDashboardData, renderDashboardPage } from './dashboard.js'
export { mdText, renderJobSummary, type JobSummaryOptions } from './job-summary.js'
export { boundedJobSummary, JOB_SUMMARY_MAX_BYTES } from './job-summary-limit.js'
export { VERDICT_TEXT, formatObserved } from './view.js'
export { createSlackClient, type SlackClient, type SlackPosted } from './slack-client.js'
export {
  finishMessage,
  finishThread,
  noResultMessage,
  startMessage,
  type SlackMessage,
  type SlackRunContext,
} from './slack-message.js'
