import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { ConfigError } from '../src/shared/errors.js'
import { RESULT_SCHEMA_VERSION, type RunResult } from '../src/shared/result.js'

/**
 * result.json is a trust boundary: it may come from an older or newer Horde, from a bucket, or from a
 * person's editor. Check the fields the report relies on, keep everything else (later versions add fields).
 */
const num = z.number()
const nnum = z.number().nullable()
const latency = { minMs: nnum, maxMs: nnum, avgMs: nnum, p50Ms: nnum, p90Ms: nnum, p95Ms: nnum, p99Ms: nnum }

const resultSchema = z.looseObject({
  schemaVersion: z.literal(RESULT_SCHEMA_VERSION, {
    error: `schemaVersion must be ${RESULT_SCHEMA_VERSION}`,
  }),
  runId: z.string().min(1),
  verdict: z.enum(['pass', 'fail', 'invalid', 'stopped']),
  verdictReasons: z.array(z.string()),
  startedAtMs: num,
  endedAtMs: num,
  measuredFromMs: num,
  measuredToMs: num,
  config: z.looseObject({
    scenario: z.string().min(1),
    workers: num,
    warmupMs: num,
    labels: z.record(z.string(), z.string()),
  }),
  totals: z.looseObject({ requests: num, failures: num, failureRate: num, rps: num, ...latency }),
  endpoints: z.array(
    z.looseObject({
      method: z.string(),
      name: z.string(),
      requests: num,
      failures: num,
      rps: num,
      ...latency,
    }),
  ),
  errors: z.array(
    z.looseObject({ method: z.string(), name: z.string(), error: z.string(), occurrences: num }),
  ),
  histogram: z.array(z.tuple([num, num])),
  timeSeries: z.array(
    z.looseObject({
      timeMs: num,
      users: num,
      workers: num,
      rps: num,
      failuresPerSec: num,
      warmup: z.boolean(),
    }),
  ),
  thresholds: z.array(
    z.looseObject({ metric: z.string(), expression: z.string(), observed: nnum, ok: z.boolean() }),
  ),
  events: z.array(z.looseObject({ timeMs: num, kind: z.string(), message: z.string() })),
  workers: z.array(z.looseObject({ id: z.string() })),
})

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
  const parsed = resultSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue === undefined || issue.path.length === 0 ? 'the document' : issue.path.join('.')
    throw new ConfigError(
      'HORDE_ERR_REPORT_RESULT_SHAPE',
      `${source} is not a Horde result: ${where}: ${issue?.message ?? 'invalid'}. Pass the result.json written by 'horde run' or 'horde master' (schemaVersion ${RESULT_SCHEMA_VERSION}).`,
    )
  }
  return json as RunResult
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
