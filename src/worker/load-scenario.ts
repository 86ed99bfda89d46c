import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { register } from 'tsx/esm/api'
import { ScenarioError, HordeError, describeValue } from '../shared/errors.js'
import { isScenario } from './scenario.js'
import type { Scenario } from './scenario-types.js'

let tsLoaderRegistered = false

/**
 * Imports a TypeScript scenario file on Node 20 (through tsx's loader, registered once for the process so
 * that `import ... from 'horde'` in the scenario resolves to the same module instance as the runner) and
 * checks that its default export came from defineScenario.
 */
export async function loadScenario(file: string): Promise<Scenario> {
  const path = resolve(file)
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new ScenarioError(
      'HORDE_ERR_SCENARIO_NOT_FOUND',
      `scenario file not found: ${describeValue(file)} (resolved to ${path}). Pass the path of a .ts file that default-exports defineScenario({...}).`,
    )
  }
  if (!tsLoaderRegistered) {
    register()
    tsLoaderRegistered = true
  }
  let module: { default?: unknown }
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown }
  } catch (error) {
    if (error instanceof HordeError) throw error
    throw new ScenarioError(
      'HORDE_ERR_SCENARIO_LOAD',
      `scenario ${file} failed to load: ${error instanceof Error ? error.message : String(error)}. Fix the error above (run \`npx tsc --noEmit\` for type errors).`,
      { cause: error },
    )
  }
  if (!isScenario(module.default)) {
    throw new ScenarioError(
      'HORDE_ERR_SCENARIO_EXPORT',
      `scenario ${file} must \`export default defineScenario({...})\`, but its default export is ${describeValue(module.default)}.`,
    )
  }
  return module.default
}
