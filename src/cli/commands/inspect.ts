import { ConfigError, ExitCode, describeValue } from '../../shared/errors.js'
import { redactSecrets } from '../../shared/redact.js'
import { loadScenario } from '../../worker/load-scenario.js'
import type { Scenario } from '../../worker/scenario-types.js'
import { parseFlags } from '../flags.js'

const HELP = `Usage: horde inspect <scenario.ts>

Loads a scenario exactly as a worker would, validates it, and prints what it declares as JSON:
user classes with weights and tasks, thresholds, stages and HTTP options. Exit 0 when valid, 104 when not.
Use it in CI to check a scenario before a run.`

/** What a scenario declares, in plain JSON (functions replaced by their names). */
export function describeScenario(scenario: Scenario): Record<string, unknown> {
  return {
    name: scenario.name,
    host: scenario.host ?? null,
    users: Object.fromEntries(
      Object.entries(scenario.users).map(([name, u]) => [
        name,
        {
          weight: u.weight ?? 1,
          fixedCount: u.fixedCount ?? null,
          wait: u.wait ?? null,
          tasks:
            u.sequence !== undefined
              ? { sequence: u.sequence.length }
              : Object.fromEntries(
                  Object.entries(u.tasks ?? {}).map(([t, d]) => [t, typeof d === 'function' ? 1 : d.weight]),
                ),
          onStart: u.onStart !== undefined,
          onStop: u.onStop !== undefined,
        },
      ]),
    ),
    http: scenario.http ?? {},
    thresholds: scenario.thresholds ?? {},
    stages: scenario.stages ?? null,
    warmup: scenario.warmup ?? null,
    stopTimeout: scenario.stopTimeout ?? null,
  }
}

export async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('inspect', argv, { help: { type: 'boolean', short: 'h' } })
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`)
    return ExitCode.pass
  }
  if (positionals.length !== 1) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `horde inspect takes exactly one scenario file, received ${describeValue(positionals)}.`,
    )
  }
  const scenario = await loadScenario(positionals[0] as string)
  process.stdout.write(`${JSON.stringify(redactSecrets(describeScenario(scenario)), null, 2)}\n`)
  return ExitCode.pass
}
