import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { ExitCode } from '../shared/errors.js'
import type { Logger } from '../shared/logger.js'
import type { Verdict } from '../shared/result.js'
import { Coordinator } from '../master/coordinator.js'
import { ControlApi } from '../master/control-api.js'
import { buildResult, type MasterRunResult } from '../master/result-builder.js'
import { writeOutputs } from '../master/outputs.js'
import { progressLine, summaryTable, verdictLine } from '../master/console-format.js'
import type { MasterPlan } from '../master/plan.js'
import type { LoadSettings } from './run-settings.js'
import { terminationSummary, writeTerminationMessage } from './termination-message.js'

export const EXIT_CODE_OF: Record<Verdict, number> = {
  pass: ExitCode.pass,
  fail: ExitCode.thresholdsFailed,
  stopped: ExitCode.stopped,
  invalid: ExitCode.invalidRun,
}

export interface SessionOptions {
  plan: MasterPlan
  settings: LoadSettings
  bindHost: string
  bindPort: number
  logger: Logger
  /** Human output (progress lines, summary); stdout by default. */
  write?: (line: string) => void
  /** Also put result, CSVs and report into this store (a folder or gs://bucket/prefix), as `horde report --store`. */
  store?: string
  /** Write a JSON summary of the run here at the end (Kubernetes' terminationMessagePath). */
  terminationLog?: string
  /** Called once the master socket is bound (start local workers here). */
  onBound?: (coordinator: Coordinator, api: ControlApi) => void | Promise<void>
}

export interface SessionResult {
  exitCode: number
  result: MasterRunResult
  outDir: string
}

/**
 * One master run from the CLI's side: bind, serve the control API, print a progress line per second, and at
 * the end write result.json + CSVs (+ the HTML report when report/render is available) and print the verdict.
 */
export async function runMasterSession(options: SessionOptions): Promise<SessionResult> {
  const { plan, settings, logger } = options
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`))
  const outDir = resolve(settings.out ?? `horde-results/${plan.runId}`)
  const coordinator = await Coordinator.start({
    plan,
    bindHost: options.bindHost,
    bindPort: options.bindPort,
    logger,
    onProgress: (progress) => {
      if (progress.phase !== 'waiting') write(progressLine(progress))
    },
    onEvent: (event) => {
      if (event.kind !== 'spawn-complete') write(`  * ${event.message}`)
    },
  })
  let api: ControlApi | null = null
  const onSignal = (signal: NodeJS.Signals): void => {
    coordinator.requestStop(`received ${signal}`, 'person')
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    api = await ControlApi.start({
      coordinator,
      host: settings.apiHost,
      port: settings.apiPort,
      token: settings.apiToken,
      logger,
    })
    write(
      `horde: run ${plan.runId}: master on port ${coordinator.port}, control API ${api.url}, waiting for ${plan.expectWorkers} worker(s)`,
    )
    await options.onBound?.(coordinator, api)
    const outcome = await coordinator.run()
    const result = buildResult(plan, outcome)
    await writeOutputs(outDir, result, outcome)
    const stored = options.store === undefined ? null : await storeRun(outDir, options.store, logger)
    const reportPath = stored?.htmlPath ?? (await renderReportIfAvailable(outDir, logger))
    const exitCode = EXIT_CODE_OF[result.verdict]
    write('')
    write(summaryTable(result))
    write('')
    if (reportPath !== null) write(`Report: ${reportPath}`)
    if (stored?.url != null) write(`Stored: ${stored.url}`)
    write(verdictLine(result, outDir))
    if (options.terminationLog !== undefined) {
      const summary = terminationSummary(result, exitCode, stored?.url ?? reportPath)
      await writeTerminationMessage(options.terminationLog, summary).catch((error: unknown) =>
        logger.warn({ err: error, path: options.terminationLog }, 'termination message not written'),
      )
    }
    return { exitCode, result, outDir }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await api?.close()
    if (coordinator.phase !== 'done') await coordinator.close()
  }
}

/**
 * `--store`: the same as `horde report --store` right after the run, so a run leaves its report even when
 * nobody waits for it. A failed upload keeps everything in outDir and never changes the verdict.
 */
async function storeRun(
  outDir: string,
  store: string,
  logger: Logger,
): Promise<{ htmlPath: string; url: string | null } | null> {
  try {
    const { publishRun } = await import('../../report/publish.js')
    const published = await publishRun(join(outDir, 'result.json'), {
      store,
      log: (line) => logger.info({}, line),
    })
    if (published.uploadError !== null) {
      logger.error(
        { store, err: published.uploadError, outDir },
        'report upload failed; result.json, CSVs and report are kept in the output folder',
      )
      return { htmlPath: published.htmlPath, url: null }
    }
    return { htmlPath: published.htmlPath, url: published.url }
  } catch (error) {
    logger.error(
      { store, err: error, outDir },
      'report not stored; result.json and CSVs are in the output folder',
    )
    return null
  }
}

/**
 * The HTML report lives in report/ (another module that only reads result.json). Render it when it exists,
 * never fail the run because of it: result.json is the source of truth.
 */
async function renderReportIfAvailable(outDir: string, logger: Logger): Promise<string | null> {
  const candidates = ['../../report/render.js', '../../../report/render.js', '../../report/render.ts'].map(
    (p) => fileURLToPath(new URL(p, import.meta.url)),
  )
  const path = candidates.find((p) => existsSync(p))
  if (path === undefined) return null
  try {
    const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>
    const write = module.writeRunReport
    if (typeof write !== 'function') return null
    const written = await (write as (file: string, options: object) => Promise<{ htmlPath: string }>)(
      join(outDir, 'result.json'),
      { outDir, log: (line: string) => logger.info({}, line) },
    )
    return written.htmlPath
  } catch (error) {
    logger.warn({ err: error }, 'html report could not be rendered; result.json and CSVs are written')
    return null
  }
}
