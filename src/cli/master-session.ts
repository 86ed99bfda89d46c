import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ConfigError, ExitCode } from '../shared/errors.js'
import { probeWritableDirectory } from '../shared/output-dir.js'
import type { Logger } from '../shared/logger.js'
import type { Verdict } from '../shared/result.js'
import { Coordinator } from '../master/coordinator.js'
import { ControlApi } from '../master/control-api.js'
import { createDashboard } from './dashboard-setup.js'
import { buildResult, type MasterRunResult } from '../master/result-builder.js'
import { writeOutputs } from '../master/outputs.js'
import { progressLine, summaryTable, verdictLine } from '../master/console-format.js'
import type { MasterPlan } from '../master/plan.js'
import type { LoadSettings } from './run-settings.js'
import { terminationSummary, writeTerminationMessage } from './termination-message.js'
import { publishRun, writeRunReport } from '../../report/index.js'
import type { DatadogSettings } from './datadog-flags.js'
import { startLiveMetrics } from './live-metrics-session.js'
import { TraceSampleBook } from '../master/trace-samples.js'

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
  /** Horde workers must prove this secret to join (--join-secret / HORDE_JOIN_SECRET). */
  joinSecret?: string | null
  /** Human output (progress lines, summary); stdout by default. */
  write?: (line: string) => void
  /** The flag that chose bindPort, named when it cannot be bound (`horde run` binds port 0: never). */
  bindPortFlag?: string
  /** Also put result, CSVs and report into this store (a folder or gs://bucket/prefix), as `horde report --store`. */
  store?: string
  /** Write a JSON summary of the run here at the end (Kubernetes' terminationMessagePath). */
  terminationLog?: string
  /** Called once the master socket is bound (start local workers here). */
  onBound?: (coordinator: Coordinator, api: ControlApi) => void | Promise<void>
  /** A second SIGINT/SIGTERM exits at once: end what must not outlive this process (local workers). */
  onForceExit?: () => void
  /** --statsd / DD_AGENT_HOST: live metrics every second (off when absent). */
  datadog?: DatadogSettings
}

/** Where a run's outputs go: --out, else ./horde-results/<run-id>/. */
export function outputDirOf(settings: LoadSettings, plan: MasterPlan): string {
  return resolve(settings.out ?? `horde-results/${plan.runId}`)
}

/**
 * The output folder must be creatable and writable before any load: a read-only place or a path under /proc
 * found only at the end loses the run.
 */
export async function checkOutputDir(dir: string): Promise<void> {
  try {
    await probeWritableDirectory(dir)
  } catch (error) {
    throw new ConfigError(
      'HORDE_ERR_CLI_OUT',
      `--out ${dir} cannot be used (${errorText(error)}): pass --out (or HORDE_OUT) a folder this process can create and write.`,
    )
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** A port that cannot be bound is bad input, named by its flag, not a stack trace. */
function bindError(flag: string, host: string, port: number, error: unknown): ConfigError {
  return new ConfigError(
    'HORDE_ERR_CLI_PORT',
    `${flag} ${port} cannot be bound on ${host} (${errorText(error)}): choose a free port (0 = any) or stop what listens there.`,
  )
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
  const outDir = outputDirOf(settings, plan)
  // Everything that can fail for bad input fails here, before a worker is told to start: the output folder,
  // the workers' port, the control API's port.
  await checkOutputDir(outDir)
  const live = await startLiveMetrics(options.datadog?.statsd ?? null, plan, logger, () => coordinator)
  const traceSamples = options.datadog?.traceSample != null ? new TraceSampleBook() : null
  const coordinator = await Coordinator.start({
    onSecond: (second) => live?.onSecond(second),
    ...(traceSamples !== null ? { onReportExtra: (extra) => traceSamples.add(extra) } : {}),
    plan,
    bindHost: options.bindHost,
    bindPort: options.bindPort,
    logger,
    joinSecret: options.joinSecret ?? null,
    onProgress: (progress) => {
      if (progress.phase !== 'waiting') write(progressLine(progress))
    },
    onEvent: (event) => {
      if (event.kind !== 'spawn-complete') write(`  * ${event.message}`)
    },
  }).catch((error: unknown) => {
    throw error instanceof ConfigError
      ? error
      : bindError(options.bindPortFlag ?? '--master-port', options.bindHost, options.bindPort, error)
  })
  logger.info({ host: options.bindHost, port: coordinator.port }, 'master listening for workers')
  let api: ControlApi | null = null
  let signals = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1
    if (signals === 1) {
      write(`horde: ${signal}: stopping the load gracefully; send it again to exit at once`)
      coordinator.requestStop(`received ${signal}`, 'person')
      return
    }
    // A person who asks twice wants out now, whatever is stuck (a hung file system, a worker not answering).
    write(`horde: ${signal} again: exiting at once without results`)
    options.onForceExit?.()
    process.exit(ExitCode.stopped)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    api = await ControlApi.start({
      coordinator,
      host: settings.apiHost,
      port: settings.apiPort,
      token: settings.apiToken,
      allowedHosts: settings.apiAllowedHosts,
      logger,
      dashboard: createDashboard(coordinator, settings.apiToken !== null),
    }).catch((error: unknown) => {
      throw error instanceof ConfigError
        ? error
        : bindError('--api-port', settings.apiHost, settings.apiPort, error)
    })
    write(
      `horde: run ${plan.runId}: master on port ${coordinator.port}, control API ${api.url}, waiting for ${plan.expectWorkers} worker(s)`,
    )
    await options.onBound?.(coordinator, api)
    const outcome = await coordinator.run()
    const result = buildResult(plan, outcome)
    const traceSample = options.datadog?.traceSample ?? null
    if (traceSample !== null)
      result.tracing = { sample: traceSample, samples: traceSamples?.toResult() ?? {} }
    await live?.finish(result.timeSeries)
    const writtenDir = await writeOutputsOrFallback(outDir, result, outcome, logger, write)
    const stored =
      options.store === undefined || writtenDir === null
        ? null
        : await storeRun(writtenDir, options.store, logger)
    const reportPath =
      stored?.htmlPath ?? (writtenDir === null ? null : await renderReportIfAvailable(writtenDir, logger))
    const exitCode = EXIT_CODE_OF[result.verdict]
    write('')
    write(summaryTable(result))
    write('')
    if (reportPath !== null) write(`Report: ${reportPath}`)
    if (stored?.url != null) write(`Stored: ${stored.url}`)
    write(verdictLine(result, writtenDir ?? '(nowhere: see the errors above)'))
    if (options.terminationLog !== undefined) {
      const summary = terminationSummary(result, exitCode, stored?.url ?? reportPath)
      await writeTerminationMessage(options.terminationLog, summary).catch((error: unknown) =>
        logger.warn({ err: error, path: options.terminationLog }, 'termination message not written'),
      )
    }
    return { exitCode, result, outDir: writtenDir ?? outDir }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await api?.close()
    if (coordinator.phase !== 'done') await coordinator.close()
  }
}

/**
 * The folder was checked before the load, but it can still go away (a full disk, a removed mount). The
 * verdict must not be lost with it: keep the outputs in a fresh temp folder and say where. null when even
 * that fails (the summary and verdict are still printed).
 */
async function writeOutputsOrFallback(
  outDir: string,
  result: MasterRunResult,
  outcome: Awaited<ReturnType<Coordinator['run']>>,
  logger: Logger,
  write: (line: string) => void,
): Promise<string | null> {
  try {
    await writeOutputs(outDir, result, outcome)
    return outDir
  } catch (error) {
    const fallback = await mkdtemp(join(tmpdir(), `horde-${result.runId}-`)).catch(() => null)
    if (fallback !== null) {
      try {
        await writeOutputs(fallback, result, outcome)
        logger.error({ err: error, outDir, fallback }, 'outputs could not be written; kept in a temp folder')
        write(`horde: could not write to ${outDir} (${errorText(error)}); outputs kept in ${fallback}`)
        return fallback
      } catch {
        // fall through: report the first error
      }
    }
    logger.error({ err: error, outDir }, 'outputs could not be written')
    write(`horde: could not write the outputs to ${outDir} (${errorText(error)}), nor to a temp folder`)
    return null
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
 * The HTML report (report/, which only reads result.json): never fail the run because of it, result.json is the
 * source of truth.
 */
async function renderReportIfAvailable(outDir: string, logger: Logger): Promise<string | null> {
  try {
    const written = await writeRunReport(join(outDir, 'result.json'), {
      outDir,
      log: (line: string) => logger.info({}, line),
    })
    return written.htmlPath
  } catch (error) {
    logger.warn({ err: error }, 'html report could not be rendered; result.json and CSVs are written')
    return null
  }
}
