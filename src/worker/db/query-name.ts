/** Statements a scenario runs are few and repeated: names are derived once per distinct text. */
const cache = new Map<string, string>()
const MAX_CACHED = 1024
const WORDS = 4
const MAX_CHARS = 60

/**
 * The stats row name of a statement that was not given one: its first words, whitespace collapsed, without
 * literal values (`SELECT abalance FROM pgbench_accounts`). Parameters ($1, ?) keep rows few; a statement with
 * literals inlined would otherwise make a row per value, so quoted strings and numbers are cut out.
 */
export function queryName(sql: string): string {
  let name = cache.get(sql)
  if (name !== undefined) return name
  const words = sql
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
    .trim()
    .split(/\s+/, WORDS)
  name = words.join(' ').slice(0, MAX_CHARS)
  if (name === '') name = '(empty statement)'
  if (cache.size < MAX_CACHED) cache.set(sql, name)
  return name
}
