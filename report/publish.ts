import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { ConfigError } from '../src/shared/errors.js'
import type { RunResult } from '../src/shared/result.js'
import { chooseBaseline } from './compare.js'
import { runCsvFiles } from '../src/shared/run-csv.js'
import { renderJobSummary } from './job-summary.js'
import { rebuildIndexes, readRunSummaries, runDir, summarize, type RunSummary } from './history.js'
import { datadogFromEnv, type DatadogOptions } from './links.js'
import { loadRunResult, parseRunResult, slug } from './load.js'
import { renderReport } from './render.js'
import { localStore } from './store/local.js'
import { openStore, type Store } from './store/index.js'

export interface WriteRunReportOptions {
  /** Where index.html, the CSVs and summary.json go. Default: the folder of result.json. */
  outDir?: string
  /** Compare with this run id instead of the previous passing run. */
  baseline?: string
  /**
   * Where earlier runs are: a folder laid out as <run-id>/result.json (default: the folder above the run's
   * folder, i.e. the run's siblings).
   */
  historyDir?: string
  /** Datadog links; default from HORDE_DATADOG_SITE / DD_SITE, DD_SERVICE, DD_ENV. null disables. */
  datadog?: DatadogOptions | null
  /** Progress and warnings, one line each. Default: silent. */
  log?: (line: string) => void
}

export interface PublishOptions extends Omit<WriteRunReportOptions, 'historyDir'> {
  /** A folder or gs://bucket/prefix. The run goes to <store>/<scenario>/<run-id>/ and the indexes are rebuilt. */
  store?: string
  /** For GCS: print a V4 signed URL valid this long instead of the public URL. */
  signedUrlTtlMs?: number
  /** For GCS: retries per request for transient failures (default 3). */
  gcsRetries?: number
}

export interface PublishResult {
  /** The report on local disk (always written, whatever happens to the upload). */
  htmlPath: string
  localDir: string
  /** Where to open the report: a public/signed URL for GCS, the file path otherwise. */
  url: string
  /** Top-level index, when a store was used. */
  indexUrl: string | null
  uploaded: boolean
  uploadError: string | null
  baselineRunId: string | null
  /** The GitHub job summary (Markdown) for this run, with the same baseline and the report's URL. */
  jobSummary: string
}

/**
 * Renders the report for a result.json next to it (or in outDir) and writes the CSVs and summary.json.
 * The master calls this at the end of every run; it compares with the previous passing sibling run and, when
 * the run folder sits in a <base>/<scenario>/<run-id>/ layout, refreshes the history indexes too.
 */
export async function writeRunReport(
  resultJsonPath: string,
  options: WriteRunReportOptions = {},
): Promise<{ htmlPath: string }> {
  const result = await loadRunResult(resultJsonPath)
  const localDir = resolve(options.outDir ?? dirname(resultJsonPath))
  const historyRoot = resolve(options.historyDir ?? dirname(localDir))
  const history = localStore(historyRoot)
  const candidates = await safeSummaries(history, '', options.log, basename(localDir))
  const { htmlPath } = await writeLocal(result, resultJsonPath, localDir, history, candidates, options)
  if (basename(historyRoot) === slug(result.config.scenario) && options.historyDir === undefined) {
    // <base>/<scenario>/<run-id>/: keep the history pages in step.
    await rebuildIndexes(localStore(dirname(historyRoot)), { warn: options.log ?? (() => {}) }).catch(
      (error: unknown) => options.log?.(`history index not rebuilt: ${(error as Error).message}`),
    )
  }
  return { htmlPath }
}

/**
 * `horde report`: render, write to disk, and with a store put the run into the history layout and rebuild
 * the indexes. A failed upload leaves everything on disk and is reported in the result, never thrown.
 */
export async function publishRun(
  resultJsonPath: string,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const log = options.log ?? (() => {})
  const result = await loadRunResult(resultJsonPath)
  const store =
    options.store === undefined
      ? undefined
      : openStore(options.store, {
          ...(options.signedUrlTtlMs !== undefined ? { signedUrlTtlMs: options.signedUrlTtlMs } : {}),
          ...(options.gcsRetries !== undefined ? { maxRetries: options.gcsRetries } : {}),
        })
  const dir = runDir(result)

  if (store === undefined || store.kind === 'gcs') {
    const localDir = resolve(options.outDir ?? dirname(resultJsonPath))
    let candidates: RunSummary[] = []
    let history: Store = localStore(dirname(localDir))
    let prefix = ''
    if (store !== undefined) {
      try {
        candidates = await readRunSummaries(store, `${slug(result.config.scenario)}/`, { exclude: dir })
        history = store
        prefix = `${slug(result.config.scenario)}/`
      } catch (error) {
        log(
          `cannot read history from ${store.location} (${(error as Error).message}); rendering without a baseline`,
        )
      }
    } else {
      candidates = await safeSummaries(history, '', log, basename(localDir))
    }
    const written = await writeLocal(result, resultJsonPath, localDir, history, candidates, {
      ...options,
      inHistory: prefix !== '',
    })
    const { htmlPath, baselineRunId } = written
    const summary = (url: string): string =>
      renderJobSummary(result, {
        ...(written.baseline ? { baseline: written.baseline, baselineChosenBy: written.chosenBy } : {}),
        reportUrl: url,
        ...datadogOf(options),
      })
    // Not uploaded (no store, or the upload failed): the report on disk is the one to link.
    const kept = (uploadError: string | null): PublishResult => ({
      htmlPath,
      localDir,
      url: htmlPath,
      indexUrl: null,
      uploaded: false,
      uploadError,
      baselineRunId,
      jobSummary: summary(htmlPath),
    })
    if (store === undefined) return kept(null)
    try {
      // The report last: a reader who finds it finds everything it links to.
      const files = [
        ...(await readdir(localDir)).filter((f) => f.endsWith('.csv')),
        'result.json',
        'summary.json',
        'index.html',
      ]
      for (const name of files) {
        await store.put(`${dir}/${name}`, await readFile(join(localDir, name)))
      }
      await rebuildIndexes(store, { warn: log, onlyScenario: slug(result.config.scenario) })
      const url = await store.url(`${dir}/index.html`)
      return {
        htmlPath,
        localDir,
        url,
        indexUrl: await store.url('index.html'),
        uploaded: true,
        uploadError: null,
        baselineRunId,
        jobSummary: summary(url),
      }
    } catch (error) {
      const message = (error as Error).message
      log(`upload to ${store.location} failed: ${message}. The report and result are kept in ${localDir}.`)
      return kept(message)
    }
  }

  // Local folder store: the run is written straight into the history layout.
  const localDir = join(store.location, ...dir.split('/'))
  const prefix = `${slug(result.config.scenario)}/`
  const candidates = await safeSummaries(store, prefix, log, dir)
  const written = await writeLocal(result, resultJsonPath, localDir, store, candidates, {
    ...options,
    inHistory: true,
  })
  await rebuildIndexes(store, { warn: log, repair: true })
  const jobSummary = renderJobSummary(result, {
    ...(written.baseline ? { baseline: written.baseline, baselineChosenBy: written.chosenBy } : {}),
    reportUrl: written.htmlPath,
    ...datadogOf(options),
  })
  return {
    htmlPath: written.htmlPath,
    localDir,
    url: written.htmlPath,
    indexUrl: join(store.location, 'index.html'),
    uploaded: false,
    uploadError: null,
    baselineRunId: written.baselineRunId,
    jobSummary,
  }
}

async function safeSummaries(
  store: Store,
  prefix: string,
  log: ((line: string) => void) | undefined,
  exclude: string,
): Promise<RunSummary[]> {
  try {
    return await readRunSummaries(store, prefix, { warn: log ?? (() => {}), exclude })
  } catch (error) {
    log?.(`cannot read earlier runs from ${store.location}: ${(error as Error).message}`)
    return []
  }
}

async function writeLocal(
  result: RunResult,
  resultJsonPath: string,
  localDir: string,
  history: Store,
  candidates: RunSummary[],
  options: WriteRunReportOptions & { inHistory?: boolean },
): Promise<{
  htmlPath: string
  baselineRunId: string | null
  baseline: RunResult | undefined
  chosenBy: 'explicit' | 'previous-pass'
}> {
  const chosen = chooseBaseline(
    { runId: result.runId, scenario: result.config.scenario, startedAtMs: result.startedAtMs },
    candidates,
    options.baseline,
  )
  if (options.baseline !== undefined && chosen === undefined) {
    const known = candidates.slice(0, 5).map((c) => c.runId)
    throw new ConfigError(
      'HORDE_ERR_REPORT_BASELINE',
      `--baseline ${JSON.stringify(options.baseline)} is not a stored run of this scenario in ${history.location}${known.length ? `; recent runs: ${known.join(', ')}` : '; no runs are stored there'}. Pass a run id from the scenario's index page.`,
    )
  }
  let baseline: RunResult | undefined
  if (chosen !== undefined) {
    const body = await history.get(`${chosen.run.dir}/result.json`).catch(() => null)
    if (body !== null) {
      try {
        baseline = parseRunResult(body.toString('utf8'), `${history.location}/${chosen.run.dir}/result.json`)
      } catch (error) {
        options.log?.(
          `baseline ${chosen.run.runId} unreadable (${(error as Error).message}); rendering without it`,
        )
      }
    }
  }
  const here = localDir.split(/[\\/]/).at(-1) ?? ''
  const baselineFolder = chosen?.run.dir.split('/').at(-1)
  const { datadog } = datadogOf(options)
  await mkdir(localDir, { recursive: true })
  const target = join(localDir, 'result.json')
  if (resolve(resultJsonPath) !== target) {
    // Bring the master's own CSVs (from the full histograms) along with the result.
    const source = dirname(resolve(resultJsonPath))
    const csvs = (await readdir(source)).filter((f) => f.endsWith('.csv'))
    await Promise.all([
      copyFile(resultJsonPath, target),
      ...csvs.map((f) => copyFile(join(source, f), join(localDir, f))),
    ])
  }
  const present = new Set(await readdir(localDir))
  await Promise.all([
    ...runCsvFiles(result, undefined, false)
      .filter((f) => !present.has(f.name))
      .map((f) => writeFile(join(localDir, f.name), f.body)),
    writeFile(join(localDir, 'summary.json'), JSON.stringify(summarize(result, runDir(result)))),
  ])
  const csvs = (await readdir(localDir)).filter((f) => f.endsWith('.csv')).sort()
  const html = renderReport(result, {
    ...(baseline !== undefined ? { baseline, baselineChosenBy: chosen?.chosenBy ?? 'previous-pass' } : {}),
    ...(baselineFolder !== undefined && baselineFolder !== here
      ? { baselineHref: `../${baselineFolder}/index.html` }
      : {}),
    ...(datadog !== undefined ? { datadog } : {}),
    ...(options.inHistory === true || basename(dirname(localDir)) === slug(result.config.scenario)
      ? { historyHref: '../index.html' }
      : {}),
    downloads: ['result.json', ...csvs],
  })
  const htmlPath = join(localDir, 'index.html')
  await writeFile(htmlPath, html)
  return {
    htmlPath,
    baselineRunId: baseline?.runId ?? null,
    baseline,
    chosenBy: chosen?.chosenBy ?? 'previous-pass',
  }
}

/** Datadog links for report and job summary: the options' own, else the environment's (null = none). */
function datadogOf(options: { datadog?: DatadogOptions | null }): { datadog?: DatadogOptions } {
  const datadog = options.datadog === null ? undefined : (options.datadog ?? datadogFromEnv(process.env))
  return datadog === undefined ? {} : { datadog }
}
