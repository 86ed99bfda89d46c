/**
 * Strict number parsing for flags and environment variables. `Number()` reads `0x10` as 16, `1e3` as 1000
 * and `''` as 0, and `parseInt` reads `12abc` as 12: a typo would silently become a different load. Only
 * plain decimal digits are numbers here.
 */
const WHOLE = /^\d+$/
const DECIMAL = /^\d+(?:\.\d+)?$/

/** `'42'` → 42; anything else (`0x10`, `1e3`, `12abc`, `-1`, `''`, beyond 2^53) → undefined. */
export function parseWholeNumber(text: string): number | undefined {
  const trimmed = text.trim()
  if (!WHOLE.test(trimmed)) return undefined
  const value = Number(trimmed)
  return Number.isSafeInteger(value) ? value : undefined
}

/** `'0.5'`, `'12'` → a finite number ≥ 0; `0x10`, `1e3`, `12abc`, `-1`, `''` → undefined. */
export function parseDecimalNumber(text: string): number | undefined {
  const trimmed = text.trim()
  if (!DECIMAL.test(trimmed)) return undefined
  const value = Number(trimmed)
  return Number.isFinite(value) ? value : undefined
}
