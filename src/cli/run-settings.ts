import { connect } from 'node:net'
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { ConfigError, describeValue } from '../shared/errors.js'
import { MAX_DURATION_MS, formatDurationMs, parseDurationMs } from '../shared/duration.js'
import { parseDecimalNumber, parseWholeNumber } from '../shared/numbers.js'
import { redactUrlCredentials } from '../shared/redact.js'
import { isLoopbackHost } from '../master/control-api-guard.js'
import type { Scenario } from '../worker/scenario-types.js'
import { DEFAULT_THRESHOLD } from '../master/plan.js'
import type { MasterPlan, OpenModelPlan, PlanRateStage, PlanStage, PlanThreshold } from '../master/plan.js'
import { parseThreshold } from '../master/thresholds.js'
import { flagOrEnv } from './flags.js'

/** Flags shared by `horde run` and `horde master`, each with its environment variable. */
export const LOAD_FLAGS = {
  users: { type: 'string', short: 'u' },
  'spawn-rate': { type: 'string', short: 'r' },
  duration: { type: 'string', short: 't' },
  stages: { type: 'string' },
  rps: { type: 'string' },
  'rate-stages': { type: 'string' },
  host: { type: 'string' },
  warmup: { type: 'string' },
  'stop-timeout': { type: 'string' },
  out: { type: 'string' },
  'run-id': { type: 'string' },
  'api-host': { type: 'string' },
  'api-port': { type: 'string' },
  'api-token': { type: 'string' },
  'api-allowed-hosts': { type: 'string' },
  'skip-host-check': { type: 'boolean' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

export const LOAD_FLAGS_HELP = `Load (flags win over the scenario, then HORDE_* variables):
  -u, --users N           concurrent users (HORDE_USERS); required unless stages are given
  -r, --spawn-rate R      users started (or stopped) per second (HORDE_SPAWN_RATE, default 10)
  -t, --duration D        total run time including warm-up, e.g. 30s, 2m (HORDE_DURATION)
  --stages LIST           load shape, e.g. 10s:5:1,30s:20:2,10s:0 as duration:users[:rate] (HORDE_STAGES)
Open model (a target rate instead of looping users; --users then bounds iterations in flight):
  --rps N                 start iterations at N per second across all workers (HORDE_RPS)
  --rate-stages LIST      rate shape, e.g. 10s:100,30s:500,10s:0 as duration:rps, linear within each
                          stage, starting from --rps or 0 (HORDE_RATE_STAGES)
  --warmup D              excluded from results and thresholds, e.g. 10s (HORDE_WARMUP)
  --stop-timeout D        time users get to finish their task at the end (HORDE_STOP_TIMEOUT, default 2s)
  --host URL              target base URL sent to workers (HORDE_HOST; default: the scenario's host)
  --skip-host-check       do not check that the host answers TCP before starting
Output and control:
  --out DIR               output folder (HORDE_OUT, default ./horde-results/<run-id>/)
  --run-id ID             run id (HORDE_RUN_ID, default <scenario>-<utc time>-<random>)
  --api-host H            control API interface (HORDE_API_HOST, default 127.0.0.1)
  --api-port P            control API port (HORDE_API_PORT; 0 = any free port)
  --api-token T           bearer token the control API requires (HORDE_API_TOKEN); required when
                          --api-host is not loopback
  --api-allowed-hosts L   names clients may use to reach the control API besides IPs and localhost,
                          comma-separated, e.g. horde-master.load.svc (HORDE_API_ALLOWED_HOSTS)
  --log-level L           debug, info, warn, error (HORDE_LOG_LEVEL)
  -h, --help              show this help`

export interface LoadSettings {
  users: number | null
  rps: number | null
  rateStages: PlanRateStage[] | null
  spawnRate: number
  durationMs: number | null
  stages: PlanStage[] | null
  warmupMs: number
  stopTimeoutMs: number
  host: string | null
  out: string | null
  runId: string | null
  apiHost: string
  apiPort: number
  apiToken: string | null
  apiAllowedHosts: string[]
  skipHostCheck: boolean
}

function fail(flag: string, received: unknown, fix: string): never {
  throw new ConfigError('HORDE_ERR_CLI_FLAG', `${flag} ${fix}, received ${describeValue(received)}.`)
}

function positiveInt(flag: string, text: string | undefined, allowZero = false): number | null {
  if (text === undefined) return null
  const value = parseWholeNumber(text)
  if (value === undefined || (!allowZero && value < 1)) {
    fail(
      flag,
      text,
      `must be a whole number ≥ ${allowZero ? 0 : 1} written in decimal digits (not hex, exponent or units)`,
    )
  }
  return value
}

function duration(flag: string, text: string | undefined, allowZero: boolean): number | null {
  if (text === undefined) return null
  const ms = parseDurationMs(text)
  if (ms === undefined) fail(flag, text, "must be a duration such as '30s', '2m' or '1h30m'")
  if (!allowZero && ms <= 0) fail(flag, text, 'must be longer than 0s')
  checkMaxDuration(flag, text, ms)
  return ms
}

/** Node timers cannot wait longer than MAX_DURATION_MS; a longer run would end at once instead. */
function checkMaxDuration(flag: string, received: unknown, ms: number): void {
  if (ms > MAX_DURATION_MS) {
    fail(
      flag,
      received,
      `must be at most ${formatDurationMs(Math.floor(MAX_DURATION_MS / 1000) * 1000)} (the longest a timer can wait)`,
    )
  }
}

/** `10s:100,30s:500` → open-model stages; each part is duration:rps. */
export function parseRateStages(flag: string, text: string): PlanRateStage[] {
  return text.split(',').map((part) => {
    const [d, r, extra] = part.trim().split(':')
    if (d === undefined || r === undefined || extra !== undefined) {
      fail(flag, part, "must be a list of duration:rps such as '10s:100,30s:500'")
    }
    const rps = parseDecimalNumber(r)
    if (rps === undefined) fail(`${flag} rps`, r, 'must be a number ≥ 0 such as 250 or 0.5')
    return { durationMs: duration(`${flag} duration`, d, false) as number, rps }
  })
}

/** `10s:5:1,30s:20` → stages; each part is duration:users[:spawnRate]. */
export function parseStages(flag: string, text: string): PlanStage[] {
  const stages = text.split(',').map((part) => {
    const [d, u, r, extra] = part.trim().split(':')
    if (d === undefined || u === undefined || extra !== undefined) {
      fail(flag, part, "must be a list of duration:users[:rate] such as '10s:5:1,30s:20'")
    }
    const stage: PlanStage = {
      durationMs: duration(`${flag} duration`, d, false) as number,
      users: positiveInt(`${flag} users`, u, true) as number,
    }
    if (r !== undefined) {
      const rate = parseDecimalNumber(r)
      if (rate === undefined || rate <= 0)
        fail(`${flag} rate`, r, 'must be a positive number such as 5 or 0.5')
      stage.spawnRate = rate
    }
    return stage
  })
  return stages
}

export function parseLoadSettings(
  values: Record<string, unknown>,
  defaults: { apiPort: number },
): LoadSettings {
  const get = (flag: string, env: string): string | undefined => flagOrEnv(values, flag, env)
  const users = positiveInt('--users', get('users', 'HORDE_USERS'))
  const rateText = get('spawn-rate', 'HORDE_SPAWN_RATE')
  let spawnRate = 10
  if (rateText !== undefined) {
    spawnRate = parseDecimalNumber(rateText) ?? 0
    if (!(spawnRate > 0)) {
      fail('--spawn-rate', rateText, 'must be a positive number of users per second, e.g. 5 or 0.5')
    }
  }
  const stagesText = get('stages', 'HORDE_STAGES')
  const rpsText = get('rps', 'HORDE_RPS')
  let rps: number | null = null
  if (rpsText !== undefined) {
    rps = parseDecimalNumber(rpsText) ?? 0
    if (!(rps > 0)) {
      fail('--rps', rpsText, 'must be a positive number of iterations per second, e.g. 300')
    }
  }
  const rateStagesText = get('rate-stages', 'HORDE_RATE_STAGES')
  const host = get('host', 'HORDE_HOST') ?? null
  if (host !== null && !z.url({ protocol: /^https?$/ }).safeParse(host).success) {
    fail('--host', redactUrlCredentials(host), 'must be an http(s) URL such as http://127.0.0.1:8080')
  }
  const apiPort = positiveInt('--api-port', get('api-port', 'HORDE_API_PORT'), true) ?? defaults.apiPort
  if (apiPort > 65535) fail('--api-port', apiPort, 'must be a port number between 0 and 65535')
  const apiHost = get('api-host', 'HORDE_API_HOST') ?? '127.0.0.1'
  const apiToken = get('api-token', 'HORDE_API_TOKEN') ?? null
  if (!isLoopbackHost(apiHost) && apiToken === null) {
    // Beyond loopback anyone on the network could stop or retarget the run.
    fail(
      '--api-host',
      apiHost,
      'listens beyond loopback, so the control API needs a token: set --api-token (HORDE_API_TOKEN), or use --api-host 127.0.0.1',
    )
  }
  const apiAllowedHosts = (get('api-allowed-hosts', 'HORDE_API_ALLOWED_HOSTS') ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '')
  const runId = get('run-id', 'HORDE_RUN_ID') ?? null
  if (runId !== null && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/.test(runId)) {
    fail('--run-id', runId, 'must be letters, digits, ".", "_" or "-" (it names the output folder)')
  }
  return {
    users,
    rps,
    rateStages: rateStagesText === undefined ? null : parseRateStages('--rate-stages', rateStagesText),
    spawnRate,
    durationMs: duration('--duration', get('duration', 'HORDE_DURATION'), false),
    stages: stagesText === undefined ? null : parseStages('--stages', stagesText),
    warmupMs: duration('--warmup', get('warmup', 'HORDE_WARMUP'), true) ?? 0,
    stopTimeoutMs: duration('--stop-timeout', get('stop-timeout', 'HORDE_STOP_TIMEOUT'), true) ?? -1,
    host,
    out: get('out', 'HORDE_OUT') ?? null,
    runId,
    apiHost,
    apiPort,
    apiToken,
    apiAllowedHosts,
    // The env form is for the Kubernetes master, whose flags all come from the run's ConfigMap.
    skipHostCheck: values['skip-host-check'] === true || process.env.HORDE_SKIP_HOST_CHECK === 'true',
  }
}

/** `vote-app-20260101-120000-ab12`: sortable, unique enough, safe as a folder name. */
export function makeRunId(scenarioName: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${scenarioName}-${stamp}-${randomBytes(2).toString('hex')}`
}

/** Scenario + flags → the master's plan. Every impossible value fails here, before any load. */
export function buildPlan(
  scenario: Scenario,
  scenarioFile: string,
  settings: LoadSettings,
  workers: { expect: number; timeoutMs: number },
): MasterPlan {
  const open = buildOpenModel(scenario, settings)
  if (open !== null) return buildPlanCommon(scenario, scenarioFile, settings, workers, null, open)
  const stages =
    settings.stages ??
    scenario.stages?.map((s) => {
      const stage: PlanStage = { durationMs: parseDurationMs(s.duration) as number, users: s.users }
      if (s.spawnRate !== undefined) stage.spawnRate = s.spawnRate
      return stage
    }) ??
    null
  return buildPlanCommon(scenario, scenarioFile, settings, workers, stages, null)
}

/** The open model from flags (which win) or the scenario's `rate`; null for the closed model. */
function buildOpenModel(scenario: Scenario, settings: LoadSettings): OpenModelPlan | null {
  const fromScenario = scenario.rate
  let startRps = settings.rps
  let stages = settings.rateStages
  if (startRps === null && stages === null && fromScenario !== undefined) {
    if (typeof fromScenario === 'number') startRps = fromScenario
    else stages = fromScenario.map((s) => ({ durationMs: parseDurationMs(s.duration) as number, rps: s.rps }))
  }
  if (startRps === null && stages === null) return null
  if (settings.stages !== null) {
    fail(
      '--stages',
      settings.stages,
      'is for users (closed model); with --rps or --rate-stages use --rate-stages',
    )
  }
  return { startRps: startRps ?? 0, stages, dropsExpected: scenario.dropsExpected ?? false }
}

function buildPlanCommon(
  scenario: Scenario,
  scenarioFile: string,
  settings: LoadSettings,
  workers: { expect: number; timeoutMs: number },
  stages: PlanStage[] | null,
  open: OpenModelPlan | null,
): MasterPlan {
  if (open !== null) {
    const peakRps = Math.max(open.startRps, ...(open.stages ?? []).map((s) => s.rps))
    if (!(peakRps > 0)) fail('--rate-stages', settings.rateStages, 'must reach a rate above 0')
    const rateTotal = open.stages?.reduce((sum, s) => sum + s.durationMs, 0) ?? null
    const durationMs = settings.durationMs ?? rateTotal
    if (durationMs === null) fail('--duration', undefined, 'is required with --rps: pass e.g. --duration 1m')
    // The pool: by default one second of the peak rate in flight, at least 50, so a target answering within
    // ~1 s never makes the generator drop arrivals.
    const users = settings.users ?? Math.max(50, Math.ceil(peakRps))
    return finishPlan(scenario, scenarioFile, settings, workers, null, open, users, durationMs)
  }
  if (stages === null && settings.users === null) {
    fail(
      '--users',
      undefined,
      'is required (or give stages with --stages or in the scenario): pass e.g. --users 10',
    )
  }
  const stagesTotal = stages?.reduce((sum, s) => sum + s.durationMs, 0) ?? null
  const durationMs = settings.durationMs ?? stagesTotal
  if (durationMs === null)
    fail('--duration', undefined, 'is required without stages: pass e.g. --duration 1m')
  const users = settings.users ?? Math.max(...(stages ?? []).map((s) => s.users))
  const peak = stages === null ? users : Math.max(...stages.map((s) => s.users))
  if (peak < 1) fail('--stages', settings.stages, 'must reach at least 1 user')
  return finishPlan(scenario, scenarioFile, settings, workers, stages, null, users, durationMs)
}

function finishPlan(
  scenario: Scenario,
  scenarioFile: string,
  settings: LoadSettings,
  workers: { expect: number; timeoutMs: number },
  stages: PlanStage[] | null,
  open: OpenModelPlan | null,
  users: number,
  durationMs: number,
): MasterPlan {
  // Stages (from flags or the scenario) add up: their total must fit a timer too.
  checkMaxDuration('--duration', formatDurationMs(durationMs), durationMs)
  const warmupMs =
    settings.warmupMs || (scenario.warmup === undefined ? 0 : (parseDurationMs(scenario.warmup) as number))
  if (warmupMs >= durationMs) {
    fail(
      '--warmup',
      `${warmupMs / 1000}s`,
      `must be shorter than the run (${durationMs / 1000}s), or nothing is measured`,
    )
  }
  const peak = stages === null ? users : Math.max(...stages.map((s) => s.users))
  if (workers.expect > peak) {
    fail(
      '--workers',
      workers.expect,
      `must not exceed the users (${peak}): a worker without users measures nothing; lower --workers or raise --users`,
    )
  }
  const thresholds: PlanThreshold[] = []
  for (const [metric, list] of Object.entries(scenario.thresholds ?? {})) {
    for (const item of list) {
      const threshold: PlanThreshold =
        typeof item === 'string'
          ? { metric, expression: item, abortOnFail: false }
          : { metric, expression: item.threshold, abortOnFail: item.abortOnFail ?? false }
      parseThreshold(threshold)
      thresholds.push(threshold)
    }
  }
  if (scenario.thresholds === undefined) thresholds.push({ ...DEFAULT_THRESHOLD })
  const stopTimeoutMs =
    settings.stopTimeoutMs >= 0
      ? settings.stopTimeoutMs
      : scenario.stopTimeout !== undefined
        ? (parseDurationMs(scenario.stopTimeout) as number)
        : 2000
  return {
    runId: settings.runId ?? makeRunId(scenario.name),
    scenarioName: scenario.name,
    scenarioFile,
    host: settings.host ?? scenario.host ?? null,
    userClasses: Object.entries(scenario.users).map(([name, u]) => {
      const cls: MasterPlan['userClasses'][number] = { name, weight: u.weight ?? 1 }
      if (u.fixedCount !== undefined) cls.fixedCount = u.fixedCount
      return cls
    }),
    users,
    spawnRate: settings.spawnRate,
    durationMs,
    stages,
    open,
    warmupMs,
    stopTimeoutMs,
    thresholds,
    expectWorkers: workers.expect,
    expectWorkersTimeoutMs: workers.timeoutMs,
    labels: {},
    gitCommit: process.env.GITHUB_SHA ?? null,
    ...(scenario.throttle !== undefined ? { throttleTps: scenario.throttle } : {}),
    // init / fin barriers (issue 15), coordinated by the master (src/master/phase-barrier.ts).
    ...(scenario.init !== undefined || scenario.fin !== undefined
      ? {
          phases: {
            init: scenario.init !== undefined,
            initPerAgent: scenario.initPerAgent === true,
            fin: scenario.fin !== undefined,
          },
        }
      : {}),
  }
}

/** Fails before any load when the target does not even accept a TCP connection. */
export async function checkHostReachable(url: string, timeoutMs = 3000): Promise<void> {
  const parsed = new URL(url)
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80))
  const host = parsed.hostname.replace(/^\[|\]$/g, '')
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.end()
      resolve()
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  }).catch((error: unknown) => {
    throw new ConfigError(
      'HORDE_ERR_CLI_HOST_UNREACHABLE',
      `--host ${redactUrlCredentials(url)} is unreachable (${error instanceof Error ? error.message : String(error)}): start the target or fix the URL (or pass --skip-host-check if only the workers can reach it).`,
    )
  })
}
