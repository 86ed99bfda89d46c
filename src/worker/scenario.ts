import { z } from 'zod'
import { ScenarioError, describeValue } from '../shared/errors.js'
import { MAX_DURATION_TEXT, parseTimerDurationMs } from '../shared/duration.js'
import { parseThreshold } from '../shared/threshold-syntax.js'
import type {
  Scenario,
  ScenarioOptions,
  TaskDefinition,
  TaskFn,
  UserDefinition,
  UserOptions,
  WaitSpec,
} from './scenario-types.js'

const SCENARIO_BRAND = 'horde.scenario'
const USER_BRAND = 'horde.user'

const duration = z.string().refine((text) => parseTimerDurationMs(text) !== undefined, {
  message: `must be a duration such as '500ms', '30s', '2m' or '1h30m', at most ${MAX_DURATION_TEXT}`,
})
const fn = z.custom<(...args: unknown[]) => unknown>((value) => typeof value === 'function', {
  message: 'must be a function',
})
const taskDefinition = z.union([fn, z.strictObject({ weight: z.number(), fn })])
const waitSpec = z.union([
  z.strictObject({ kind: z.literal('between'), minMs: z.number().min(0), maxMs: z.number().min(0) }),
  z.strictObject({ kind: z.literal('constant'), ms: z.number().min(0) }),
  z.strictObject({ kind: z.literal('pacing'), ms: z.number().min(0) }),
])
const userSchema = z
  .strictObject({
    kind: z.literal(USER_BRAND, { message: 'must be made with user({...})' }),
    weight: z
      .number()
      .int({ message: 'must be a positive integer' })
      .positive({ message: 'must be a positive integer' })
      .optional(),
    fixedCount: z.number().int().min(0, { message: 'must be a non-negative integer' }).optional(),
    wait: waitSpec.optional(),
    tasks: z.record(z.string(), taskDefinition).optional(),
    sequence: z.array(taskDefinition).optional(),
    state: fn.optional(),
    onStart: fn.optional(),
    onStop: fn.optional(),
  })
  .superRefine((user, ctx) => {
    const taskCount = Object.keys(user.tasks ?? {}).length
    const stepCount = user.sequence?.length ?? 0
    if (taskCount === 0 && stepCount === 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs at least one task in `tasks` or `sequence`',
        path: ['tasks'],
      })
    }
    if (taskCount > 0 && stepCount > 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'takes either `tasks` or `sequence`, not both',
        path: ['sequence'],
      })
    }
    for (const [name, def] of Object.entries(user.tasks ?? {})) {
      if (typeof def !== 'function' && (!Number.isInteger(def.weight) || def.weight <= 0)) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a positive integer',
          path: ['tasks', name, 'weight'],
        })
      }
    }
  })

const thresholdValue = z.union([
  z.string().min(1),
  z.strictObject({ threshold: z.string().min(1), abortOnFail: z.boolean().optional() }),
])

const scenarioSchema = z.strictObject({
  kind: z.literal(SCENARIO_BRAND),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
    message: 'must be letters, digits, ".", "_" or "-" (it names report folders)',
  }),
  host: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL such as http://127.0.0.1:8080' })
    .optional(),
  users: z.record(z.string(), userSchema).superRefine((users, ctx) => {
    if (Object.keys(users).length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs at least one user class, e.g. users: { Visitor: user({...}) }',
      })
    }
    for (const name of Object.keys(users)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `is not a valid user-class name (${JSON.stringify(name)}): use an identifier such as Visitor, since it travels on the Locust wire as the class name`,
        })
      }
    }
  }),
  http: z
    .strictObject({
      keepAlive: z.boolean().optional(),
      connections: z.number().int().positive().nullable().optional(),
      timeout: duration.optional(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  thresholds: z
    .record(z.string(), z.array(thresholdValue))
    .superRefine((thresholds, ctx) => {
      // The one threshold parser the master uses: a threshold `horde inspect` accepts is one a run accepts.
      for (const [metric, items] of Object.entries(thresholds)) {
        items.forEach((item, index) => {
          const expression = typeof item === 'string' ? item : item.threshold
          try {
            parseThreshold({ metric, expression })
          } catch (error) {
            ctx.addIssue({
              code: 'custom',
              path: [metric, index],
              message: `is not a valid threshold (${(error as Error).message.replace(/\.$/, '')})`,
            })
          }
        })
      }
    })
    .optional(),
  stages: z
    .array(
      z.strictObject({
        duration,
        users: z.number().int().min(0),
        spawnRate: z.number().positive().optional(),
      }),
    )
    .min(1)
    .optional(),
  rate: z
    .union([
      z.number().positive({ message: 'must be a positive number of iterations per second' }),
      z
        .array(
          z.strictObject({
            duration,
            rps: z.number().min(0, { message: 'must be ≥ 0 iterations per second' }),
          }),
        )
        .min(1, { message: 'needs at least one { duration, rps } stage' }),
    ])
    .optional(),
  dropsExpected: z.boolean().optional(),
  warmup: duration.optional(),
  stopTimeout: duration.optional(),
  trace: z
    .strictObject({
      sample: z
        .number({ message: 'must be a number above 0 and at most 1 (0.01 traces 1 % of requests)' })
        .gt(0, { message: 'must be above 0 and at most 1 (0.01 traces 1 % of requests)' })
        .max(1, { message: 'must be above 0 and at most 1 (1 traces every request)' })
        .optional(),
    })
    .optional(),
  init: fn.optional(),
  initPerAgent: z.boolean().optional(),
  fin: fn.optional(),
  throttle: z
    .number()
    .positive({ message: 'must be a positive number of tasks per second' })
    .finite()
    .optional(),
})

/** Turns a zod failure into one message that names the field, the value received and the fix. */
function toScenarioError(error: z.ZodError, input: unknown): ScenarioError {
  const lines = error.issues.map((issue) => {
    const path = issue.path.map(String).join('.')
    const received = issue.path.reduce<unknown>(
      (value, key) =>
        value !== null && typeof value === 'object'
          ? (value as Record<PropertyKey, unknown>)[key]
          : undefined,
      input,
    )
    if (issue.code === 'unrecognized_keys') {
      const where = path === '' ? 'the scenario' : path
      return `${where} has unknown option(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: remove them or check the spelling (see README "Scenario API").`
    }
    const field = path === '' ? 'scenario' : path
    return `${field} ${issue.message}, received ${describeValue(received)}.`
  })
  return new ScenarioError('HORDE_ERR_SCENARIO_INVALID', `Invalid scenario: ${lines.join(' ')}`)
}

/**
 * Declares a scenario. Validates it at once, so a bad scenario fails when its file loads, before any load
 * starts, with a message naming the field.
 */
export function defineScenario(options: ScenarioOptions): Scenario {
  const candidate = { kind: SCENARIO_BRAND, ...options }
  const parsed = scenarioSchema.safeParse(candidate)
  if (!parsed.success) throw toScenarioError(parsed.error, candidate)
  return deepFreeze(candidate as Scenario)
}

/** Declares a user class. `State` is inferred from `state()` and flows into every task's context. */
export function user<State = undefined>(options: UserOptions<State>): UserDefinition<State> {
  return { kind: USER_BRAND, ...options }
}

/** A task with a weight: `task(3, ({ http }) => http.get('/'))` runs three times as often as weight 1. */
export function task<State = unknown>(weight: number, fn: TaskFn<State>): TaskDefinition<State> {
  return { weight, fn }
}

function durationArg(field: string, value: string | number): number {
  const ms = parseTimerDurationMs(value)
  if (ms === undefined) {
    throw new ScenarioError(
      'HORDE_ERR_SCENARIO_INVALID',
      `${field} must be a duration such as '500ms' or '2s', at most ${MAX_DURATION_TEXT}, received ${describeValue(value)}.`,
    )
  }
  return ms
}

/** Waits a random time between `min` and `max` after each task (Locust `between`). */
export function between(min: string | number, max: string | number): WaitSpec {
  const minMs = durationArg('between(min)', min)
  const maxMs = durationArg('between(max)', max)
  if (maxMs < minMs) {
    throw new ScenarioError(
      'HORDE_ERR_SCENARIO_INVALID',
      `between(min, max) needs min ≤ max, received ${describeValue(min)}, ${describeValue(max)}: swap them.`,
    )
  }
  return { kind: 'between', minMs, maxMs }
}

/** Waits the same time after each task (Locust `constant`). constant(0) means no think time. */
export function constant(wait: string | number): WaitSpec {
  return { kind: 'constant', ms: durationArg('constant(wait)', wait) }
}

/** Starts a task every `interval` whatever the task took (Locust `constant_pacing`). */
export function constantPacing(interval: string | number): WaitSpec {
  return { kind: 'pacing', ms: durationArg('constantPacing(interval)', interval) }
}

/** At most `tasksPerSecond` tasks per second for each user (Locust `constant_throughput`). */
export function constantThroughput(tasksPerSecond: number): WaitSpec {
  if (!(typeof tasksPerSecond === 'number' && tasksPerSecond > 0 && Number.isFinite(tasksPerSecond))) {
    throw new ScenarioError(
      'HORDE_ERR_SCENARIO_INVALID',
      `constantThroughput(tasksPerSecond) must be a positive number, received ${describeValue(tasksPerSecond)}.`,
    )
  }
  return { kind: 'pacing', ms: 1000 / tasksPerSecond }
}

const STOP_USER = Symbol.for('horde.StopUser')

/** Throw from a task to end this user (Locust StopUser). Any other throw is a failure and the user goes on. */
export class StopUser extends Error {
  readonly [STOP_USER] = true
  constructor(message = 'user stopped by its task') {
    super(message)
    this.name = 'StopUser'
  }
}

/** True for StopUser even when two copies of the package are loaded (brand check, not instanceof). */
export function isStopUser(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[STOP_USER] === true
}

/** True for a value made by defineScenario (brand check, so two copies of the package still agree). */
export function isScenario(value: unknown): value is Scenario {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === SCENARIO_BRAND
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) if (typeof child === 'object') deepFreeze(child)
  }
  return value
}
