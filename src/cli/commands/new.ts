import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { ConfigError, ExitCode, describeValue } from '../../shared/errors.js'
import { parseFlags } from '../flags.js'
import { listTemplates, type TemplateInfo } from '../template-catalog.js'

const HELP = `Usage: horde new <name> --template <kind> [--dir DIR]
       horde new --list

Starts a new load test from a template: copies templates/<kind>.ts to scenarios/<name>.ts and the template's
team overlay to manifests/overlays/<name>/, with the name filled in. Never overwrites: an existing file is an
error (exit 104). Then prints the next steps.

  --template KIND   which template (see --list)
  --dir DIR         the repository to write into (default: the current folder)
  --list            show the templates and what each is for`

/** Lowercase letters, digits and inner dashes: safe as a file name, a kustomize folder and a report path. */
const NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

export function checkName(name: string): void {
  if (!NAME.test(name) || name.includes('--')) {
    throw new ConfigError(
      'HORDE_ERR_CLI_NAME',
      `the test name must be 1-63 lowercase letters, digits and single inner dashes (e.g. checkout-api), received ${describeValue(name)}: it becomes scenarios/<name>.ts and manifests/overlays/<name>/.`,
    )
  }
}

/** The scenario's `name: '<kind>'` becomes the new name (reports and run history are grouped by it). */
export function fillScenario(source: string, kind: string, name: string): string {
  return source.replace(
    new RegExp(`^(\\s*name:\\s*)(['"])${kind.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\2`, 'm'),
    `$1'${name}'`,
  )
}

function fillOverlay(text: string, kind: string, name: string): string {
  return text.replaceAll(`--overlay ${kind}`, `--overlay ${name}`)
}

export interface CreatedTest {
  scenarioFile: string
  overlayDir: string | null
}

/** Copies the template; refuses before writing anything when a target already exists. */
export function createFromTemplate(template: TemplateInfo, name: string, repoDir: string): CreatedTest {
  checkName(name)
  const scenarioFile = join(repoDir, 'scenarios', `${name}.ts`)
  const overlayDir = template.overlayDir === null ? null : join(repoDir, 'manifests', 'overlays', name)
  for (const target of [scenarioFile, overlayDir]) {
    if (target !== null && existsSync(target)) {
      throw new ConfigError(
        'HORDE_ERR_CLI_EXISTS',
        `${relative(repoDir, target) || target} already exists: horde new never overwrites. Pick another name, or delete it first if you mean to start over.`,
      )
    }
  }
  mkdirSync(join(repoDir, 'scenarios'), { recursive: true })
  writeFileSync(scenarioFile, fillScenario(readFileSync(template.file, 'utf8'), template.kind, name), {
    flag: 'wx', // a file that appeared since the check is still not overwritten
  })
  if (template.overlayDir !== null && overlayDir !== null) {
    cpSync(template.overlayDir, overlayDir, { recursive: true, errorOnExist: true, force: false })
    for (const file of readdirSync(overlayDir)) {
      if (!file.endsWith('.yaml') && !file.endsWith('.yml')) continue
      const path = join(overlayDir, file)
      writeFileSync(path, fillOverlay(readFileSync(path, 'utf8'), template.kind, name))
    }
  }
  return { scenarioFile, overlayDir }
}

function nextSteps(created: CreatedTest, name: string, repoDir: string): string {
  const scenario = relative(repoDir, created.scenarioFile)
  const overlay = created.overlayDir === null ? null : relative(repoDir, created.overlayDir)
  return [
    `Created ${scenario}${overlay === null ? '' : ` and ${overlay}/`}.`,
    '',
    'Next steps:',
    `  1. Edit ${scenario}: point host at your service and replace the placeholder calls and thresholds.`,
    `  2. Run it locally:  horde run ${scenario} --users 10 --duration 30s --host http://127.0.0.1:8080 --dashboard`,
    `     Check it as CI does:  horde inspect ${scenario}`,
    `  3. Open a pull request:  git add ${scenario}${overlay === null ? '' : ` ${overlay}`} && git commit -m "Load test: ${name}"`,
    `  4. Once merged, GitHub → Actions → "Load test" → Run workflow, with scenario ${scenario}${overlay === null ? '' : ` and overlay ${name}`}.`,
  ].join('\n')
}

export async function newCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('new', argv, {
    template: { type: 'string', short: 't' },
    dir: { type: 'string' },
    list: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`)
    return ExitCode.pass
  }
  const templates = listTemplates()
  if (values.list === true) {
    const width = Math.max(...templates.map((t) => t.kind.length))
    for (const t of templates) process.stdout.write(`${t.kind.padEnd(width)}  ${t.description}\n`)
    return ExitCode.pass
  }
  const known = templates.map((t) => t.kind).join(', ')
  if (positionals.length !== 1) {
    throw new ConfigError(
      'HORDE_ERR_CLI_NAME',
      `horde new takes exactly one test name, received ${describeValue(positionals)}: e.g. horde new checkout-api --template http-api (templates: ${known}).`,
    )
  }
  const kind = values.template
  const template = templates.find((t) => t.kind === kind)
  if (template === undefined) {
    throw new ConfigError(
      'HORDE_ERR_CLI_TEMPLATE',
      `--template must name one of ${known}, received ${describeValue(kind ?? null)}: see horde new --list.`,
    )
  }
  const name = positionals[0] as string
  const repoDir = resolve(typeof values.dir === 'string' ? values.dir : process.cwd())
  const created = createFromTemplate(template, name, repoDir)
  process.stdout.write(`${nextSteps(created, name, repoDir)}\n`)
  return ExitCode.pass
}
