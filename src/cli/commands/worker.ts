import { z } from 'zod'
import { ConfigError, ExitCode, describeValue } from '../../shared/errors.js'
import { MAX_DURATION_TEXT, parseDurationMs, parseTimerDurationMs } from '../../shared/duration.js'
import { loadScenario } from '../../worker/load-scenario.js'
import { HordeWorker } from '../../worker/worker.js'
import { flagOrEnv, parseFlags } from '../flags.js'
import { hostname } from 'node:os'
import { createLogger } from '../../shared/logger.js'
import { makeNodeId } from '../../protocol/transport.js'
import { startWorkerDatadog } from '../../worker/worker-datadog.js'
import { DATADOG_FLAGS, DATADOG_FLAGS_HELP, parseDatadogSettings } from '../datadog-flags.js'

const HELP = `Usage: horde worker <scenario.ts> [options]

Runs a scenario as a Locust-protocol worker: a Horde master or a real Locust master (2.12+) drives it.

Options (each also read from the environment variable shown):
  --master-host HOST      master address (HORDE_MASTER_HOST, default 127.0.0.1)
  --master-port PORT      master port (HORDE_MASTER_PORT, default 5557)
  --host URL              base URL for http requests; wins over the master's and the scenario's (HORDE_HOST)
  --master-timeout DUR    stop all users and exit if the master is gone this long (HORDE_MASTER_TIMEOUT, default 5s)
  --rejoin-window DUR     after losing the master (users stopped), keep asking to rejoin this long before
                          exiting, to ride out a network partition (HORDE_REJOIN_WINDOW, default 0s: exit)
  --join-secret SECRET    prove to a Horde master started with the same secret that we may join
                          (HORDE_JOIN_SECRET; prefer the variable: flags show in process lists)
  --log-level LEVEL       debug, info, warn, error (HORDE_LOG_LEVEL, default info)
  -h, --help              show this help
${DATADOG_FLAGS_HELP}

The scenario may also come from HORDE_SCENARIO. Exit codes: 0 quit by the master, 105 master lost, 104 bad input.`

const settingsSchema = z.object({
  scenario: z.string({ message: 'is required: pass the scenario file (or set HORDE_SCENARIO)' }).min(1),
  masterHost: z.string().min(1),
  masterPort: z
    .string()
    .regex(/^\d+$/, { message: 'must be a port number written in decimal digits, e.g. 5557' })
    .transform(Number)
    .pipe(z.number().int().min(1).max(65535, { message: 'must be a port number between 1 and 65535' })),
  host: z.url({ message: 'must be a URL such as http://127.0.0.1:8080' }).optional(),
  masterTimeout: z.string().refine((v) => parseTimerDurationMs(v) !== undefined, {
    message: `must be a duration such as '5s', at most ${MAX_DURATION_TEXT}`,
  }),
  rejoinWindow: z.string().refine((v) => parseTimerDurationMs(v) !== undefined, {
    message: `must be a duration such as '30s', at most ${MAX_DURATION_TEXT}`,
  }),
  joinSecret: z.string().min(8, { message: 'must be at least 8 characters' }).optional(),
})

const FLAG_OF: Record<string, string> = {
  scenario: '<scenario.ts>',
  masterHost: '--master-host',
  masterPort: '--master-port',
  host: '--host',
  masterTimeout: '--master-timeout',
  rejoinWindow: '--rejoin-window',
  joinSecret: '--join-secret',
}

export async function workerCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('worker', argv, {
    'master-host': { type: 'string' },
    'master-port': { type: 'string' },
    host: { type: 'string' },
    'master-timeout': { type: 'string' },
    'rejoin-window': { type: 'string' },
    'join-secret': { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    ...DATADOG_FLAGS,
  })
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`)
    return ExitCode.pass
  }
  if (positionals.length > 1) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `horde worker takes one scenario file, received ${describeValue(positionals)}.`,
    )
  }
  const raw = {
    scenario: positionals[0] ?? process.env.HORDE_SCENARIO,
    masterHost: flagOrEnv(values, 'master-host', 'HORDE_MASTER_HOST') ?? '127.0.0.1',
    masterPort: flagOrEnv(values, 'master-port', 'HORDE_MASTER_PORT') ?? '5557',
    host: flagOrEnv(values, 'host', 'HORDE_HOST'),
    masterTimeout: flagOrEnv(values, 'master-timeout', 'HORDE_MASTER_TIMEOUT') ?? '5s',
    rejoinWindow: flagOrEnv(values, 'rejoin-window', 'HORDE_REJOIN_WINDOW') ?? '0s',
    joinSecret: flagOrEnv(values, 'join-secret', 'HORDE_JOIN_SECRET') || undefined,
  }
  const parsed = settingsSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue
    const key = String(issue.path[0])
    // The secret itself is never echoed back, only its length.
    const received =
      key === 'joinSecret'
        ? `${raw.joinSecret?.length ?? 0} characters`
        : describeValue(raw[key as keyof typeof raw])
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `${FLAG_OF[key] ?? key} ${issue.message}, received ${received}.`,
    )
  }
  const settings = parsed.data
  const ddSettings = parseDatadogSettings(values)
  const scenario = await loadScenario(settings.scenario)
  const logLevel = flagOrEnv(values, 'log-level', 'HORDE_LOG_LEVEL')
  // The run id reaches workers through the environment (the run's ConfigMap, or `horde run`), for logs and spans.
  const runId = process.env.HORDE_RUN_ID || null
  const nodeId = makeNodeId(hostname())
  const logger = createLogger({
    role: 'worker',
    workerId: nodeId,
    ...(runId !== null ? { runId } : {}),
    ...(logLevel !== undefined ? { level: logLevel } : {}),
  })
  const datadog = await startWorkerDatadog({
    trace: ddSettings.trace,
    statsd: ddSettings.statsd,
    scenario,
    runId,
    workerId: nodeId,
    log: logger,
  })
  const worker = new HordeWorker({
    nodeId,
    logger,
    datadog,
    scenario,
    masterHost: settings.masterHost,
    masterPort: settings.masterPort,
    host: settings.host ?? null,
    masterTimeoutMs: parseDurationMs(settings.masterTimeout),
    rejoinWindowMs: parseDurationMs(settings.rejoinWindow) ?? 0,
    joinSecret: settings.joinSecret ?? null,
    ...(logLevel !== undefined ? { logLevel } : {}),
  })
  const onSignal = (): void => {
    void worker.shutdown('signal')
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  const exit = await worker.start()
  process.off('SIGTERM', onSignal)
  process.off('SIGINT', onSignal)
  await datadog.close()
  if (exit.abandonedTasks > 0) {
    // An abandoned task may still hold a timer or a socket of its own that would keep Node alive: the worker
    // has finished and said so, so the process ends now rather than whenever that task lets it.
    setTimeout(() => process.exit(exit.code), 200).unref()
  }
  return exit.code
}
