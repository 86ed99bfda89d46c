import { writeFile } from 'node:fs/promises'
import { dbOutputFiles } from './db-outputs.js'
import { makeDirectory } from '../shared/output-dir.js'
import { join } from 'node:path'
import { HordeError } from '../shared/errors.js'
import { masterRunResultSchema } from '../shared/result.js'
import type { RunOutcome } from './run-outcome.js'
import type { MasterRunResult } from './result-builder.js'
import type { StatsRow } from './stats-row.js'
import { CSV_FILES, runCsvFiles, type StatsCsvRow } from '../shared/run-csv.js'

/** stats.csv's rows from the master's own histograms: every Locust percentile column filled. */
function statsRows(outcome: RunOutcome): StatsCsvRow[] {
  const measuredSeconds = Math.max(0.001, (outcome.measuredToMs - outcome.measuredFromMs) / 1000)
  const line = (type: string, name: string, row: StatsRow): StatsCsvRow => ({
    type,
    name,
    requests: row.requests,
    failures: row.failures,
    avgMs: row.avgResponseTimeMs,
    minMs: row.minResponseTimeMs,
    maxMs: row.maxResponseTimeMs,
    avgBytes: row.requests > 0 ? row.totalBytes / row.requests : 0,
    rps: row.requests / measuredSeconds,
    failuresPerSec: row.failures / measuredSeconds,
    percentileMs: (fraction) => row.percentileMs(fraction),
  })
  const rows = [...outcome.stats.measured.rows.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || a.method.localeCompare(b.method),
  )
  return [
    ...rows.map((row) => line(row.method, row.name, row)),
    line('', 'Aggregated', outcome.stats.measured.total),
  ]
}

export const OUTPUT_FILES = { result: 'result.json', ...CSV_FILES } as const

/**
 * result.json's text, checked against the one result schema first: the report and the action read it through the
 * same schema, so a mismatch here (a bug) is named now rather than found by whoever opens the file.
 */
export function resultJson(result: MasterRunResult): string {
  const checked = masterRunResultSchema.safeParse(result)
  if (!checked.success) {
    const issue = checked.error.issues[0]
    throw new HordeError(
      'HORDE_ERR_RESULT_SCHEMA',
      `result.json does not match the result schema at ${issue?.path.join('.') ?? 'the document'}: ${issue?.message ?? 'invalid'}. This is a Horde bug: please report it with the run's logs.`,
    )
  }
  return `${JSON.stringify(result, null, 2)}\n`
}

/** Writes result.json and the CSVs into `dir` (created if needed). Returns the paths written. */
export async function writeOutputs(
  dir: string,
  result: MasterRunResult,
  outcome: RunOutcome,
): Promise<string[]> {
  await makeDirectory(dir)
  const files: Array<[string, string]> = [
    [OUTPUT_FILES.result, resultJson(result)],
    ...runCsvFiles(result, statsRows(outcome)).map((file): [string, string] => [file.name, file.body]),
    ...dbOutputFiles(result, outcome), // per transaction type (JdbcRunner), only when the run had transactions
  ]
  const written: string[] = []
  for (const [name, content] of files) {
    const path = join(dir, name)
    await writeFile(path, content)
    written.push(path)
  }
  return written
}
