import { resolve } from 'node:path'
import { ConfigError, ExitCode, describeValue } from '../../shared/errors.js'
import { createLogger } from '../../shared/logger.js'
import { MAX_DURATION_TEXT, parseTimerDurationMs } from '../../shared/duration.js'
import { loadScenario } from '../../worker/load-scenario.js'
import { parseWholeNumber } from '../../shared/numbers.js'
import { flagOrEnv, parseFlags } from '../flags.js'
import { DATADOG_FLAGS, DATADOG_FLAGS_HELP, parseDatadogSettings, withScenario } from '../datadog-flags.js'
import {
  LOAD_FLAGS,
  LOAD_FLAGS_HELP,
  buildPlan,
  checkHostReachable,
  parseLoadSettings,
} from '../run-settings.js'
import { runMasterSession } from '../master-session.js'
import { parseGcsUrl } from '../../../report/index.js'

const HELP = `Usage: horde master <scenario.ts> --expect-workers K --users N --duration D [options]

Headless master for a cluster (the Kubernetes master Job): waits for K workers (Horde or Locust 2.12+), runs
the load, writes result.json and CSVs, tells every worker to quit, and exits with the verdict:
0 pass, 99 thresholds failed, 104 bad input, 105 stopped, 106 invalid run.

Cluster:
  --expect-workers K       workers that must be ready before the load starts (HORDE_EXPECT_WORKERS, default 1)
  --expect-workers-timeout D  give up (verdict invalid) if they are not there by then (default 5m)
  --master-host H          interface for workers to connect to (HORDE_MASTER_BIND_HOST, default 0.0.0.0)
  --master-port P          port for workers (HORDE_MASTER_PORT, default 5557)
  --join-secret S          Horde workers must prove this shared secret to join or report (HORDE_JOIN_SECRET,
                           prefer the variable; at least 8 characters); Locust workers cannot and still join
  --store DIR|gs://B/P     also put result, CSVs and report there, as \`horde report --store\` does
                           (HORDE_REPORT_STORE)
  --termination-log PATH   write a JSON summary (verdict, run id, totals, report URL) there at the end
                           (HORDE_TERMINATION_LOG; the Kubernetes manifests use /dev/termination-log)
${LOAD_FLAGS_HELP}
${DATADOG_FLAGS_HELP}`

export async function masterCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('master', argv, {
    ...LOAD_FLAGS,
    'expect-workers': { type: 'string' },
    'expect-workers-timeout': { type: 'string' },
    'master-host': { type: 'string' },
    'master-port': { type: 'string' },
    'join-secret': { type: 'string' },
    store: { type: 'string' },
    'termination-log': { type: 'string' },
    ...DATADOG_FLAGS,
  })
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`)
    return ExitCode.pass
  }
  const scenarioArg = positionals[0] ?? process.env.HORDE_SCENARIO
  if (positionals.length > 1 || scenarioArg === undefined) {
    throw new ConfigError(
      'HORDE_ERR_CLI_SCENARIO',
      `horde master takes exactly one scenario file (or HORDE_SCENARIO), received ${describeValue(positionals)}.`,
    )
  }
  const expectText = flagOrEnv(values, 'expect-workers', 'HORDE_EXPECT_WORKERS') ?? '1'
  const expect = parseWholeNumber(expectText) ?? 0
  if (expect < 1) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `--expect-workers must be a whole number ≥ 1, received ${describeValue(expectText)}.`,
    )
  }
  const timeoutText = flagOrEnv(values, 'expect-workers-timeout', 'HORDE_EXPECT_WORKERS_TIMEOUT') ?? '5m'
  const timeoutMs = parseTimerDurationMs(timeoutText)
  if (timeoutMs === undefined || timeoutMs <= 0) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `--expect-workers-timeout must be a duration such as '2m', at most ${MAX_DURATION_TEXT}, received ${describeValue(timeoutText)}.`,
    )
  }
  const portText = flagOrEnv(values, 'master-port', 'HORDE_MASTER_PORT') ?? '5557'
  const port = parseWholeNumber(portText) ?? -1
  if (port < 0 || port > 65535) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `--master-port must be a port number (0 = any free port), received ${describeValue(portText)}.`,
    )
  }
  const joinSecret = flagOrEnv(values, 'join-secret', 'HORDE_JOIN_SECRET') ?? null
  if (joinSecret !== null && joinSecret.length < 8) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `--join-secret must be at least 8 characters, received ${joinSecret.length}. Use a long random value.`,
    )
  }
  const store = flagOrEnv(values, 'store', 'HORDE_REPORT_STORE')
  // A bucket name that can never work fails now, not after the whole run.
  if (store?.startsWith('gs://') === true) parseGcsUrl(store)
  const settings = parseLoadSettings(values, { apiPort: 8089 })
  const scenarioFile = resolve(scenarioArg)
  const scenario = await loadScenario(scenarioFile)
  const datadog = parseDatadogSettings(values)
  const plan = buildPlan(scenario, scenarioFile, settings, { expect, timeoutMs })
  if (plan.host !== null && !settings.skipHostCheck) await checkHostReachable(plan.host)
  const logger = createLogger({
    role: 'master',
    runId: plan.runId,
    level: flagOrEnv(values, 'log-level', 'HORDE_LOG_LEVEL') ?? 'info',
  })
  const terminationLog = flagOrEnv(values, 'termination-log', 'HORDE_TERMINATION_LOG')
  const session = await runMasterSession({
    plan,
    settings,
    ...(store !== undefined ? { store } : {}),
    ...(terminationLog !== undefined ? { terminationLog } : {}),
    bindHost: flagOrEnv(values, 'master-host', 'HORDE_MASTER_BIND_HOST') ?? '0.0.0.0',
    bindPort: port,
    bindPortFlag: '--master-port',
    logger,
    joinSecret,
    datadog: withScenario(datadog, scenario),
  })
  return session.exitCode
}
