import { describeValue } from './errors.js'

/**
 * The longest duration a Node timer can wait: setTimeout clamps anything above 2^31-1 ms (about 24.8 days,
 * 596h31m) to 1 ms, so a run of `-t 597h` would end at once instead of running. Reject longer ones.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy

/**
 * Parses a user-facing duration: '500ms', '30s', '2m', '1h30m', '1.5s'; a bare number means seconds
 * (Locust's `-t 30` habit). Returns milliseconds, or undefined when the text is not a duration.
 */
export function parseDurationMs(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input * 1000 : undefined
  const text = input.trim()
  if (text === '') return undefined
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000
  let total = 0
  PART.lastIndex = 0
  let consumed = 0
  for (let match = PART.exec(text); match !== null; match = PART.exec(text)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number)
    consumed = PART.lastIndex
  }
  return consumed === text.length && consumed > 0 ? total : undefined
}

/** MAX_DURATION_MS as users write it (whole seconds), for error messages: '596h31m23s'. */
export const MAX_DURATION_TEXT = '596h31m23s'

/**
 * parseDurationMs for values that end up in a timer: undefined also when longer than MAX_DURATION_MS, so a
 * `--master-timeout 700h` is refused instead of firing after 1 ms. Say "at most 596h31m23s" in the message.
 */
export function parseTimerDurationMs(input: string | number): number | undefined {
  const ms = parseDurationMs(input)
  return ms !== undefined && ms <= MAX_DURATION_MS ? ms : undefined
}

/** Like parseDurationMs, but throws a message naming the field, the value and the fix. */
export function requireDurationMs(
  field: string,
  input: unknown,
  makeError: (message: string) => Error,
): number {
  const ms = typeof input === 'string' || typeof input === 'number' ? parseDurationMs(input) : undefined
  if (ms === undefined) {
    throw makeError(
      `${field} must be a duration such as '500ms', '30s', '2m' or '1h30m', received ${describeValue(input)}.`,
    )
  }
  return ms
}

/** Formats milliseconds for humans: 1500 → '1.5s', 90000 → '1m30s'. */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`
  const totalSeconds = Math.round(ms / 1000)
  const h = Math.floor(totalSeconds / 3600)
  const m = Math.floor((totalSeconds % 3600) / 60)
  const s = totalSeconds % 60
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`
}
