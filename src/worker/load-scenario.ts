import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { tsImport } from 'tsx/esm/api'
import { ScenarioError, HordeError, describeValue } from '../shared/errors.js'
import { isScenario } from './scenario.js'
import type { Scenario } from './scenario-types.js'

/**
 * Imports a TypeScript scenario file on Node 20 through tsx's scoped loader, and checks that its default export
 * came from defineScenario. tsx treats a .ts file as CommonJS in a folder without "type": "module", which a
 * process-wide loader turned into a require(esm) cycle; tsImport handles both module kinds. The scenario may
 * then get its own copy of the 'horde' module: harmless, because scenarios are plain data and every check
 * across the boundary (isScenario, isStopUser) uses brands, not instanceof.
 */
export async function loadScenario(file: string): Promise<Scenario> {
  const path = resolve(file)
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new ScenarioError(
      'HORDE_ERR_SCENARIO_NOT_FOUND',
      `scenario file not found: ${describeValue(file)} (resolved to ${path}). Pass the path of a .ts file that default-exports defineScenario({...}).`,
    )
  }
  let module: { default?: unknown }
  try {
    module = (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown }
  } catch (error) {
    if (error instanceof HordeError) throw error
    throw new ScenarioError(
      'HORDE_ERR_SCENARIO_LOAD',
      `scenario ${file} failed to load: ${error instanceof Error ? error.message : String(error)}. Fix the error above (run \`npx tsc --noEmit\` for type errors).`,
      { cause: error },
    )
  }
  // A CommonJS scenario (no "type": "module" around it) arrives wrapped once more by Node's ESM interop.
  const exported = isScenario(module.default)
    ? module.default
    : (module.default as { default?: unknown } | undefined)?.default
  if (!isScenario(exported)) {
    throw new ScenarioError(
      'HORDE_ERR_SCENARIO_EXPORT',
      `scenario ${file} must \`export default defineScenario({...})\`, but its default export is ${describeValue(module.default)}.`,
    )
  }
  return exported
}
