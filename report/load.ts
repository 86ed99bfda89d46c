import { readFile } from 'node:fs/promises'
import { ConfigError } from '../src/shared/errors.js'
import { RESULT_SCHEMA_VERSION, checkRunResult, type RunResult } from '../src/shared/result.js'

/**
 * result.json is a trust boundary: it may come from an older or newer Horde, from a bucket, or from a person's
 * editor. It is checked against the one result schema (src/shared/result.ts), which keeps unknown fields.
 */
export function parseRunResult(text: string, source: string): RunResult {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(
      'HORDE_ERR_REPORT_RESULT_JSON',
      `${source} is not valid JSON (${(error as Error).message}). Pass the result.json written by 'horde run' or 'horde master'.`,
    )
  }
  const checked = checkRunResult(json)
  if (!checked.ok) {
    throw new ConfigError(
      'HORDE_ERR_REPORT_RESULT_SHAPE',
      `${source} is not a Horde result: ${checked.problem}. Pass the result.json written by 'horde run' or 'horde master' (schemaVersion ${RESULT_SCHEMA_VERSION}).`,
    )
  }
  return checked.result
}

export async function loadRunResult(path: string): Promise<RunResult> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new ConfigError(
      'HORDE_ERR_REPORT_RESULT_MISSING',
      `cannot read ${path} (${code ?? (error as Error).message}). Pass the path of a result.json, e.g. horde-results/<scenario>/<run-id>/result.json.`,
    )
  }
  return parseRunResult(text, path)
}

/** Folder-safe names for the storage layout <base>/<scenario>/<run-id>/. */
export function slug(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 100)
  return s === '' ? 'unnamed' : s
}
