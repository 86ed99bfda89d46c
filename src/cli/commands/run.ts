import { randomBytes } from 'node:crypto'
import { databasesDefined } from '../../worker/db/db-define.js'
import { resolve } from 'node:path'
import { ConfigError, ExitCode, describeValue } from '../../shared/errors.js'
import { createLogger } from '../../shared/logger.js'
import { loadScenario } from '../../worker/load-scenario.js'
import { parseWholeNumber } from '../../shared/numbers.js'
import { flagOrEnv, parseFlags } from '../flags.js'
import {
  DATADOG_FLAGS,
  DATADOG_FLAGS_HELP,
  datadogWorkerEnv,
  parseDatadogSettings,
  withScenario,
} from '../datadog-flags.js'
import {
  LOAD_FLAGS,
  LOAD_FLAGS_HELP,
  buildPlan,
  checkHostReachable,
  parseLoadSettings,
} from '../run-settings.js'
import { outputDirOf, runMasterSession } from '../master-session.js'
import { startLocalWorkers, type LocalWorkers } from '../local-workers.js'

const HELP = `Usage: horde run <scenario.ts> --users N --duration D [--workers K] [options]

Runs a distributed test on this machine: the master in this process and K worker processes, all on loopback.
Writes result.json and CSVs to the output folder and exits with the verdict:
0 pass, 99 thresholds failed, 104 bad input, 105 stopped, 106 invalid run (the generator could not deliver).

  -w, --workers K         local worker processes (HORDE_WORKERS, default 1)
  --dashboard             print the live dashboard's URL (the control API's /; opens nothing)
${LOAD_FLAGS_HELP}
${DATADOG_FLAGS_HELP}`

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('run', argv, {
    ...LOAD_FLAGS,
    workers: { type: 'string', short: 'w' },
    ...DATADOG_FLAGS,
    dashboard: { type: 'boolean' },
  })
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`)
    return ExitCode.pass
  }
  if (positionals.length !== 1) {
    throw new ConfigError(
      'HORDE_ERR_CLI_SCENARIO',
      `horde run takes exactly one scenario file, received ${describeValue(positionals)}: e.g. horde run scenarios/demo.ts --users 10 --duration 30s.`,
    )
  }
  const workersText = flagOrEnv(values, 'workers', 'HORDE_WORKERS') ?? '1'
  const workers = parseWholeNumber(workersText) ?? 0
  if (workers < 1 || workers > 256) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `--workers must be a whole number from 1 to 256, received ${describeValue(workersText)}.`,
    )
  }
  const settings = parseLoadSettings(values, { apiPort: 0 })
  const datadog = parseDatadogSettings(values)
  const scenarioFile = resolve(positionals[0] as string)
  const scenario = await loadScenario(scenarioFile)
  const plan = buildPlan(scenario, scenarioFile, settings, { expect: workers, timeoutMs: 30_000 })
  if (plan.host === null && !databasesDefined()) {
    throw new ConfigError(
      'HORDE_ERR_CLI_HOST',
      '--host is required when the scenario has no host: pass e.g. --host http://127.0.0.1:8080.',
    )
  }
  if (!settings.skipHostCheck && plan.host !== null) await checkHostReachable(plan.host)
  const logger = createLogger({
    role: 'master',
    runId: plan.runId,
    level: flagOrEnv(values, 'log-level', 'HORDE_LOG_LEVEL') ?? 'warn',
    destination: 2,
  })
  let local: LocalWorkers | null = null
  // Loopback is shared by every process on the machine: a random secret per run means only the workers this
  // command starts can take its work or report into its results (they get it by environment, not argv).
  const joinSecret = randomBytes(24).toString('base64url')
  try {
    const session = await runMasterSession({
      plan,
      settings,
      bindHost: '127.0.0.1',
      bindPort: 0,
      joinSecret,
      logger,
      onForceExit: () => local?.killNow(),
      datadog: withScenario(datadog, scenario),
      onBound: (coordinator, api) => {
        if (values.dashboard === true) process.stdout.write(`horde: live dashboard ${api.url}/\n`)
        local = startLocalWorkers({
          count: workers,
          scenarioFile,
          masterPort: coordinator.port,
          host: settings.host,
          joinSecret,
          openModel: plan.open !== null,
          env: datadogWorkerEnv(datadog, plan.runId),
          logDir: resolve(outputDirOf(settings, plan), 'workers'),
          logger,
          onExit: (index, code, logFile) => {
            // A worker that dies before the load starts (a scenario error, a crash) will never come: say so now
            // rather than after the 30 s wait.
            if (coordinator.phase === 'waiting') {
              coordinator.requestStop(
                `local worker ${index} exited with code ${String(code)} before the load started (see ${logFile})`,
                'workers-never-came',
              )
            }
          },
        })
      },
    })
    return session.exitCode
  } finally {
    await (local as LocalWorkers | null)?.stop(3000)
  }
}
