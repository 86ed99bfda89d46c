/**
 * The report's one public entry: what the CLI (and anything else outside report/) uses. report/ reads result
 * files and stores; it never imports the master. Inside report/, render.ts (HTML from one result) and
 * publish.ts (folders, stores, history) stay independent: publish uses render, never the other way round.
 */
export { renderReport, type RenderOptions } from './render.js'
export {
  writeRunReport,
  publishRun,
  type WriteRunReportOptions,
  type PublishOptions,
  type PublishResult,
} from './publish.js'
export { rebuildIndexes, type RebuildResult } from './history.js'
export { loadRunResult, parseRunResult } from './load.js'
export { openStore, parseGcsUrl, type Store } from './store/index.js'
