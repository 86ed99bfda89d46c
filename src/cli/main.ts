import { ExitCode, HordeError } from '../shared/errors.js'
import { HORDE_VERSION } from '../shared/logger.js'

/** Each command parses its own flags and returns an exit code; only this file calls process.exit. */
type Command = (argv: string[]) => Promise<number>

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: {
    summary: 'run a distributed test on this machine: master + K local workers, verdict as exit code',
    load: async () => (await import('./commands/run.js')).runCommand,
  },
  master: {
    summary: 'headless master for a cluster: waits for workers, runs the load, writes result.json',
    load: async () => (await import('./commands/master.js')).masterCommand,
  },
  demo: {
    summary: 'run the bundled demo: a vote app on loopback, 2 workers, ~20 s, outputs on disk',
    load: async () => (await import('./commands/demo.js')).demoCommand,
  },
  worker: {
    summary: 'run a scenario as a Locust-protocol worker under a Horde or Locust master',
    load: async () => (await import('./commands/worker.js')).workerCommand,
  },
  ctl: {
    summary: 'control a running master: status, stats, pause, resume, set --users N | --rps N, stop',
    load: async () => (await import('./commands/ctl.js')).ctlCommand,
  },
  inspect: {
    summary: 'load and validate a scenario; print its user classes, tasks, thresholds and options as JSON',
    load: async () => (await import('./commands/inspect.js')).inspectCommand,
  },
  report: {
    summary: 'render the HTML report for a result.json; --store DIR|gs://... keeps run history',
    load: async () => (await import('./commands/report.js')).reportCommand,
  },
  k8s: {
    summary: 'k8s render: the run as Kubernetes Jobs (kustomize), printed for kubectl apply -f -',
    load: async () => (await import('./commands/k8s.js')).k8sCommand,
  },
  new: {
    summary: 'start a new test from a template: scenarios/<name>.ts + its overlay (--list shows them)',
    load: async () => (await import('./commands/new.js')).newCommand,
  },
  index: {
    summary: 'rebuild the history index pages of a report store from the stored results',
    load: async () => (await import('./commands/report.js')).indexCommand,
  },
}

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  return [
    `horde ${HORDE_VERSION} — distributed load testing`,
    '',
    'Usage: horde <command> [options]',
    '',
    ...rows,
    '',
    "Run 'horde <command> --help' for a command's options.",
  ].join('\n')
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`)
    return name === undefined ? ExitCode.invalidInput : ExitCode.pass
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${HORDE_VERSION}\n`)
    return ExitCode.pass
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    process.stderr.write(`horde: unknown command ${JSON.stringify(name)}.\n\n${usage()}\n`)
    return ExitCode.invalidInput
  }
  try {
    return await (
      await command.load()
    )(rest)
  } catch (error) {
    if (error instanceof HordeError) {
      process.stderr.write(`horde ${name}: ${error.message} [${error.code}]\n`)
      return ExitCode.invalidInput
    }
    throw error
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(
      `horde: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    process.exitCode = 1
  },
)
