/**
 * zod schemas for the `data` element of each Locust message, in wire (snake_case) shape, after
 * fromWireValue() normalised the msgpack value. They are tolerant where real peers differ (§4, §8.3, §11)
 * and strict where a Locust master would crash (P13/P14), so a Horde master drops exactly what is unusable.
 */
import { z } from 'zod'
import type { IntCounts } from './messages.js'
import { describeWireValue } from './wire-values.js'

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** A map with string keys and any values (parsed_options, update_user_class, locustfile). Kept as is. */
export const anyRecord = z.custom<Record<string, unknown>>(isPlainObject, {
  message: 'must be a map with string keys',
})

/** `user_classes_count`: class name → user count. */
export const classCounts = z.record(z.string(), z.number())

/**
 * `response_times`, `num_reqs_per_sec`, `num_fail_per_sec` → Map<number, number>. Keys may be msgpack ints,
 * floats (`150.0` from ≤ 2.43 workers, P2) or — from a non-compliant peer (P1) — numeric strings; equal keys
 * are summed. Missing or nil counts as empty, as Locust does for a missing key.
 */
export const intCounts = z.unknown().transform((input, ctx): IntCounts => {
  const counts: IntCounts = new Map()
  if (input === undefined || input === null) return counts
  let entries: [unknown, unknown][]
  if (input instanceof Map) entries = [...(input as Map<unknown, unknown>)]
  else if (isPlainObject(input)) entries = Object.entries(input)
  else {
    ctx.addIssue({ code: 'custom', message: 'must be a map of number → count', input })
    return z.NEVER
  }
  for (const [rawKey, count] of entries) {
    const key =
      typeof rawKey === 'number' ? rawKey : typeof rawKey === 'string' && rawKey.trim() ? Number(rawKey) : NaN
    if (!Number.isFinite(key)) {
      ctx.addIssue({
        code: 'custom',
        message: `has a key that is not a number (${describeWireValue(rawKey)})`,
        input,
      })
      return z.NEVER
    }
    if (typeof count !== 'number' || !Number.isFinite(count)) {
      const message = `has a count that is not a number (${describeWireValue(count)} for key ${key})`
      ctx.addIssue({ code: 'custom', message, input })
      return z.NEVER
    }
    counts.set(key, (counts.get(key) ?? 0) + count)
  }
  return counts
})

/** One StatsEntry (§4.2). Only `name` is required; Locust fills other missing keys with fresh-entry defaults. */
export const statsEntrySchema = z.object({
  name: z.string(),
  method: z.string().nullish(), // nil in 2.12.1's first stats_total (P10)
  last_request_timestamp: z.number().nullish(),
  start_time: z.number().optional(),
  num_requests: z.number().default(0),
  num_none_requests: z.number().default(0),
  num_failures: z.number().default(0),
  total_response_time: z.number().default(0),
  max_response_time: z.number().default(0),
  min_response_time: z.number().nullish(), // nil when nothing was timed; Boomer sends 0
  total_content_length: z.number().default(0),
  response_times: intCounts,
  num_reqs_per_sec: intCounts,
  num_fail_per_sec: intCounts,
})

/** One errors-table row (§4.4); first_seen/last_seen only from Locust ≥ 2.44. */
export const statsErrorSchema = z.object({
  name: z.string(),
  method: z.string().nullish(),
  error: z.string(),
  occurrences: z.number(),
  first_seen: z.number().nullish(),
  last_seen: z.number().nullish(),
})

/** Top-level keys of a stats report that Horde maps; anything else goes to `extra`. */
export const STATS_REPORT_KEYS = [
  'stats',
  'stats_total',
  'errors',
  'user_classes_count',
  'user_count',
] as const

export const statsReportSchema = z.object({
  stats: z.array(statsEntrySchema),
  stats_total: statsEntrySchema,
  errors: z.record(z.string(), statsErrorSchema).nullish(),
  // Required: a Locust master's worker_report listener fails on every report without it (§4.1).
  user_classes_count: classCounts,
  user_count: z.number().nullish(),
})

export const workerHeartbeatSchema = z.object({
  state: z.enum(['ready', 'spawning', 'running']), // P13: masters adopt the state verbatim
  current_cpu_usage: z.number(),
  current_memory_usage: z.number().nullish(),
  horde_live: z.unknown().optional(), // Horde's live counts: read leniently (live-counts.ts)
})

export const workerSpawningCompleteSchema = z.object({
  user_classes_count: classCounts,
  user_count: z.number().optional(),
  count: z.number().optional(), // Boomer's name for user_count (§3.3.5)
})

export const exceptionSchema = z.object({ msg: z.string(), traceback: z.string().nullish() })

export const logsSchema = z.object({ worker_id: z.string().optional(), logs: z.array(z.string()) })

export const locustfileRequestSchema = z.object({ version: z.string().nullish() }).nullish()

export const ackSchema = z.object({ index: z.number().nullish() }).nullish() // nil from 2.10.x masters

export const spawnSchema = z.object({
  timestamp: z.number(),
  user_classes_count: classCounts,
  host: z.string().nullish(),
  stop_timeout: z.number().nullish(), // nil possible from library users; workers treat it as 0 (§3.2.2)
  parsed_options: anyRecord.nullish(),
})

export const masterSpawningCompleteSchema = z.object({ user_count: z.number() })

export const clientReadySchema = z.union([z.string(), z.number(), z.null()], {
  error: 'must be a version string, -1 or nil',
})

// ---- validation with reasons --------------------------------------------------------------------------------

export type Parsed<M> = { ok: true; message: M } | { ok: false; reason: string }

/**
 * Validates `data` of a `type` message and builds the typed message, or explains the first problem as
 * "<type>: data.<field> <what is wrong>, received <value>" — the line a master logs when it drops a frame.
 */
export function parse<S extends z.ZodType, M>(
  type: string,
  schema: S,
  data: unknown,
  build: (parsed: z.output<S>) => M,
): Parsed<M> {
  const result = schema.safeParse(data)
  if (result.success) return { ok: true, message: build(result.data) }
  const issue = result.error.issues[0]
  if (!issue) return { ok: false, reason: `${type}: invalid data, received ${describeWireValue(data)}` }
  const field = [
    'data',
    ...issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)),
  ].join('')
  const received = valueAt(data, issue.path)
  return {
    ok: false,
    reason: `${type}: ${field} ${describeIssue(issue, received)}, received ${describeReceived(received)}`,
  }
}

function describeIssue(issue: z.core.$ZodIssue, received: unknown): string {
  if (received === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value'))
    return 'is missing'
  if (issue.code === 'invalid_type') {
    return `must be ${EXPECTED[issue.expected] ?? issue.expected}`
  }
  if (issue.code === 'invalid_value')
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
  return issue.message
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  array: 'an array',
  object: 'a map with string keys',
  record: 'a map with string keys',
  map: 'a map',
  null: 'nil',
}

function describeReceived(value: unknown): string {
  if (value === null) return 'nil'
  if (value === undefined) return 'nothing'
  return describeWireValue(value)
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let current = data
  for (const key of path) {
    if (current instanceof Map) current = (current as Map<unknown, unknown>).get(key)
    else if (current !== null && typeof current === 'object' && Object.hasOwn(current, key)) {
      current = (current as Record<PropertyKey, unknown>)[key]
    } else return undefined
  }
  return current
}
