import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { REPO_ROOT, startProcess, stopProcess, type TestProcess } from './processes.js'

/**
 * Runs an action's real bundled entry point as the runner does: `node actions/<name>/dist/index.js` with
 * one INPUT_<NAME> variable per declared input (defaults from action.yml applied, as the runner does) and
 * GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, and reads back what the step left.
 */
export interface ActionRun {
  exitCode: number | string
  /** stdout and stderr together, in order of arrival (as the job log shows them). */
  log: string
  outputs: Record<string, string>
  summary: string
}

interface ActionYml {
  inputs?: Record<string, { default?: string }>
}

/** GITHUB_OUTPUT's format: `name<<DELIMITER\nvalue\nDELIMITER` (multi-line safe), or `name=value`. */
export function parseGithubOutput(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string]
      const value: string[] = []
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '')
      out[name] = value.join('\n')
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
    }
  }
  return out
}

export async function runAction(
  name: string,
  inputs: Record<string, string>,
  options: {
    env?: NodeJS.ProcessEnv
    timeoutMs?: number
    /** The step's working directory (the checkout); default the repository. */
    cwd?: string
    onStarted?: (proc: TestProcess) => void
  } = {},
): Promise<ActionRun> {
  const meta = parse(await readFile(join(REPO_ROOT, 'actions', name, 'action.yml'), 'utf8')) as ActionYml
  const declared = meta.inputs ?? {}
  for (const key of Object.keys(inputs))
    if (!(key in declared)) throw new Error(`test bug: ${name} declares no input ${key}`)
  const dir = await mkdtemp(join(tmpdir(), `horde-action-${name}-`))
  const outputFile = join(dir, 'output')
  const summaryFile = join(dir, 'summary')
  await writeFile(outputFile, '')
  await writeFile(summaryFile, '')
  const env: NodeJS.ProcessEnv = {
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_RUN_ID: '9876543210',
    GITHUB_RUN_ATTEMPT: '2',
    RUNNER_TEMP: dir,
    ...options.env,
  }
  // Every declared input is set (to its default or ''), so nothing leaks in from the test's own environment.
  for (const [input, spec] of Object.entries(declared))
    env[`INPUT_${input.replace(/ /g, '_').toUpperCase()}`] = inputs[input] ?? spec.default ?? ''
  const proc = startProcess(process.execPath, [join(REPO_ROOT, 'actions', name, 'dist', 'index.js')], {
    env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  })
  options.onStarted?.(proc)
  try {
    const timeoutMs = options.timeoutMs ?? 30_000
    let timer: NodeJS.Timeout | undefined
    const exitCode = await Promise.race([
      proc.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${name} did not end within ${timeoutMs} ms:\n${proc.output()}`)),
          timeoutMs,
        )
      }),
    ]).finally(() => clearTimeout(timer))
    return {
      exitCode,
      log: proc.output(),
      outputs: parseGithubOutput(await readFile(outputFile, 'utf8')),
      summary: await readFile(summaryFile, 'utf8'),
    }
  } finally {
    await stopProcess(proc)
    await rm(dir, { recursive: true, force: true })
  }
}
