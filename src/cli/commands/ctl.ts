import { request } from 'undici'
import { z } from 'zod'
import { ConfigError, ExitCode, describeValue } from '../../shared/errors.js'
import { MAX_DURATION_TEXT, parseTimerDurationMs } from '../../shared/duration.js'
import { parseDecimalNumber, parseWholeNumber } from '../../shared/numbers.js'
import { flagOrEnv, parseFlags } from '../flags.js'

const HELP = `Usage: horde ctl <master-url> <action> [options]

Controls a running master through its HTTP control API (the URL horde run / horde master print:
"control API http://127.0.0.1:PORT").

Actions:
  status                  phase, users, target rate, workers, recent events
  stats                   live totals, endpoints and errors of the measured window
  pause                   start no new tasks or iterations; in-flight ones finish; stats go on
  resume                  carry on
  set --users N [--spawn-rate R]   closed model: move to N users at R per second
  set --rps N [--ramp D]           open model: move to N iterations/s, linearly over D (default at once)
  stop [--reason TEXT]    stop the run gracefully: the verdict becomes "stopped"

Options:
  --token T               bearer token of the control API (HORDE_API_TOKEN)
  -h, --help              show this help

Exit codes: 0 done, 104 bad input or refused by the master, 1 master unreachable.`

const ACTIONS = ['status', 'stats', 'pause', 'resume', 'set', 'stop'] as const

function bad(message: string): never {
  throw new ConfigError('HORDE_ERR_CLI_FLAG', message)
}

function numberFlag(flag: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined
  const value = integer ? parseWholeNumber(text) : parseDecimalNumber(text)
  if (value === undefined)
    bad(
      `${flag} must be ${integer ? 'a whole number ≥ 0' : 'a number ≥ 0'}, received ${describeValue(text)}.`,
    )
  return value
}

export async function ctlCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('ctl', argv, {
    users: { type: 'string' },
    'spawn-rate': { type: 'string' },
    rps: { type: 'string' },
    ramp: { type: 'string' },
    reason: { type: 'string' },
    token: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`)
    return ExitCode.pass
  }
  const [url, action, ...rest] = positionals
  if (url === undefined || action === undefined || rest.length > 0) {
    bad(
      `horde ctl takes <master-url> <action>, received ${describeValue(positionals)}. Run 'horde ctl --help'.`,
    )
  }
  if (!z.url({ protocol: /^https?$/ }).safeParse(url).success) {
    bad(
      `<master-url> must be the control API URL such as http://127.0.0.1:8089, received ${describeValue(url)}.`,
    )
  }
  if (!(ACTIONS as readonly string[]).includes(action)) {
    bad(`action must be one of ${ACTIONS.join(', ')}, received ${describeValue(action)}.`)
  }
  let method: 'GET' | 'POST' = 'POST'
  let path = `/${action}`
  let body: Record<string, unknown> | undefined
  if (action === 'status' || action === 'stats') method = 'GET'
  if (action === 'stop' && typeof values.reason === 'string') body = { reason: values.reason }
  if (action === 'set') {
    path = '/target'
    const users = numberFlag('--users', values.users as string | undefined, true)
    const spawnRate = numberFlag('--spawn-rate', values['spawn-rate'] as string | undefined, false)
    const rps = numberFlag('--rps', values.rps as string | undefined, false)
    const ramp = values.ramp as string | undefined
    if (ramp !== undefined && parseTimerDurationMs(ramp) === undefined) {
      bad(
        `--ramp must be a duration such as '10s', at most ${MAX_DURATION_TEXT}, received ${describeValue(ramp)}.`,
      )
    }
    if ((users === undefined) === (rps === undefined)) {
      bad('set needs exactly one of --users N (closed model) or --rps N (open model).')
    }
    body = { users, spawnRate, rps, ramp }
  }
  const token = flagOrEnv(values, 'token', 'HORDE_API_TOKEN')
  let response: Awaited<ReturnType<typeof request>>
  try {
    response = await request(new URL(path, url), {
      method,
      headers: {
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        // The master refuses POSTs without it (a browser cannot send it cross-origin without a preflight).
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    })
  } catch (error) {
    process.stderr.write(
      `horde ctl: cannot reach the master at ${url}: ${error instanceof Error ? error.message : String(error)}\n`,
    )
    // The exit-code table's "master lost": a script can tell it from a refused command (104).
    return ExitCode.stopped
  }
  const text = await response.body.text()
  if (response.statusCode >= 400) {
    process.stderr.write(`horde ctl: the master refused ${action} (HTTP ${response.statusCode}): ${text}\n`)
    return ExitCode.invalidInput
  }
  process.stdout.write(`${text}\n`)
  return ExitCode.pass
}
