import { z } from 'zod'
import { parseDurationMs } from '../../src/shared/duration.js'
import { ConfigError, describeValue } from '../../src/shared/errors.js'
import { parseImageRef } from '../../src/k8s/image.js'

/**
 * run-load-test's own inputs, checked before anything is rendered or applied: each problem names the input,
 * the value received and the fix. The run's load inputs (users, duration, host, ...) are then checked by the
 * same code as `horde k8s render`, whose messages are re-worded from flags to input names.
 */
export const VERDICTS = ['pass', 'fail', 'invalid', 'stopped'] as const
export type Verdict = (typeof VERDICTS)[number]

export interface RunInputs {
  scenario: string
  pods: string
  /** Total users (from users, or parallelism × pods), as text for the render's own parser. */
  users: string
  /** Everything else `horde k8s render` takes, keyed by its flag name; only inputs that were given. */
  renderFlags: Record<string, string>
  namespace: string | null
  apiToken: string | null
  failOn: ReadonlySet<Verdict>
  pendingTimeoutMs: number
  stopWaitMs: number
}

const whole = /^[1-9][0-9]{0,6}$/

function fail(input: string, received: string | null, fix: string): never {
  throw new ConfigError(
    'HORDE_ERR_ACTION_INPUT',
    `input ${input} ${fix}, received ${received === null ? 'nothing' : describeValue(received)}.`,
  )
}

const durationInput = (name: string, value: string | null, fallback: string): number => {
  const text = value ?? fallback
  const ms = parseDurationMs(text)
  if (ms === undefined || ms <= 0) fail(name, value, "must be a duration such as '90s' or '5m'")
  return ms
}

/** `get(name)` returns the trimmed input, '' when unset (as @actions/core's getInput does). */
export function parseRunInputs(
  get: (name: string) => string,
  env: NodeJS.ProcessEnv = process.env,
): RunInputs {
  const opt = (name: string): string | null => {
    const v = get(name).trim()
    return v === '' ? null : v
  }
  const scenario =
    opt('scenario') ?? fail('scenario', null, 'is required: a file under scenarios/, e.g. scenarios/shop.ts')
  const pods = opt('pods') ?? fail('pods', null, 'is required: the number of worker pods, e.g. 3')
  if (!whole.test(pods)) fail('pods', pods, 'must be a whole number of worker pods, e.g. 3')
  const parallelism = opt('parallelism')
  const usersGiven = opt('users')
  if (parallelism === null && usersGiven === null)
    fail(
      'users',
      null,
      'or parallelism is required: give exactly one of users (total) or parallelism (users per pod)',
    )
  if (parallelism !== null && usersGiven !== null)
    fail(
      'parallelism',
      parallelism,
      `cannot be given with users (${usersGiven}): give exactly one of users (total) or parallelism (users per pod)`,
    )
  let users: string
  if (parallelism !== null) {
    if (!whole.test(parallelism))
      fail('parallelism', parallelism, 'must be a whole number of users per pod, e.g. 50')
    users = String(Number(parallelism) * Number(pods))
  } else {
    if (!whole.test(usersGiven ?? ''))
      fail('users', usersGiven, 'must be a whole number of users in total, e.g. 150')
    users = usersGiven as string
  }
  const failOnText = opt('fail-on') ?? 'fail,invalid'
  const failOn = new Set<Verdict>()
  for (const part of failOnText
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    if (part === 'none') continue
    const parsed = z.enum(VERDICTS).safeParse(part)
    if (!parsed.success)
      fail(
        'fail-on',
        failOnText,
        `must be a comma-separated list of verdicts (${VERDICTS.join(', ')}) or 'none'`,
      )
    failOn.add(parsed.data)
  }
  const apiToken = opt('api-token')
  if (apiToken !== null && !/^[\x21-\x7e]{8,512}$/.test(apiToken))
    throw new ConfigError(
      'HORDE_ERR_ACTION_INPUT',
      'input api-token must be 8 to 512 printable characters without spaces (the value is hidden). Set the HORDE_API_TOKEN secret to a long random string.',
    )
  const renderFlags: Record<string, string> = {}
  for (const [input, flag] of [
    ['spawn-rate', 'spawn-rate'],
    ['duration', 'duration'],
    ['rps', 'rps'],
    ['host', 'host'],
    ['warmup', 'warmup'],
    ['image', 'image'],
    ['namespace', 'namespace'],
    ['run-id', 'run-id'],
    ['overlay', 'overlay'],
    ['report-store', 'store'],
    ['trace-sample', 'trace-sample'],
    ['datadog-agent', 'dd-agent'],
    ['datadog-env', 'dd-env'],
    ['datadog-service', 'dd-service'],
    ['datadog-version', 'dd-version'],
  ] as const) {
    const v = opt(input)
    if (v !== null) renderFlags[flag] = v
  }
  if (renderFlags.image === undefined)
    fail(
      'image',
      null,
      'is required: the image built from this commit, e.g. europe-west1-docker.pkg.dev/acme/horde/horde@sha256:...',
    )
  const commitVersion = versionFromCommit(renderFlags.image, env.GITHUB_SHA)
  if (renderFlags['dd-version'] === undefined && commitVersion !== undefined)
    renderFlags['dd-version'] = commitVersion
  if (renderFlags.duration === undefined)
    fail('duration', null, "is required: how long the load runs, e.g. '5m'")
  return Object.freeze({
    scenario,
    pods,
    users,
    renderFlags,
    namespace: opt('namespace'),
    apiToken,
    failOn,
    pendingTimeoutMs: durationInput('pending-timeout', opt('pending-timeout'), '5m'),
    stopWaitMs: durationInput('stop-wait', opt('stop-wait'), '3m'),
  })
}

/**
 * Datadog's version tag for a run the action renders: the image's tag says which build it is, but an image given
 * by digest (or as latest) does not, and the image is built from the workflow's commit: its first 12 hex digits.
 * undefined: the render's own default (the tag) is right, or there is no commit to name.
 */
export function versionFromCommit(image: string, sha: string | undefined): string | undefined {
  if (sha === undefined || !/^[0-9a-f]{12,40}$/i.test(sha)) return undefined
  let tag: string | undefined
  try {
    tag = parseImageRef(image).newTag
  } catch {
    return undefined // the render names the bad image input
  }
  return tag === undefined || tag === 'latest' ? sha.slice(0, 12).toLowerCase() : undefined
}

/** `horde k8s render`'s messages name flags; in an action the reader set inputs. */
export function inInputTerms(message: string): string {
  return message
    .replace(/<scenario>/g, 'input scenario')
    .replace(/--store\b/g, 'input report-store')
    .replace(/--dd-(env|service|version|agent)\b/g, 'input datadog-$1')
    .replace(/--trace(-sample)?(?![\w-])/g, 'input trace-sample')
    .replace(
      /--(pods|users|spawn-rate|duration|rps|host|warmup|image|namespace|run-id|overlay|stages|stop-timeout)\b/g,
      'input $1',
    )
}
