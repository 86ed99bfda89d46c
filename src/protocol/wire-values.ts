/**
 * msgpack as Locust speaks it: msgpackr configured like Python's msgpack (§2.2), float64 on demand, and the
 * conversion between decoded msgpack values and plain JavaScript values (string-keyed maps → objects,
 * integer-keyed maps → Map, Locust's `__datetime__` maps ⇄ Date).
 */
import { Packr, Unpackr, addExtension } from 'msgpackr'
import { describeValue } from '../shared/errors.js'

/**
 * A number that must travel as msgpack float64 even when it is integral. msgpackr writes every integral
 * number as a msgpack int (`1795454019` → `ce 6b04…`), but Python peers send these fields as floats and Boomer
 * compares a spawn `timestamp` that decodes as an int with integer logic, so two spawns in the same second
 * would be dropped (locust-protocol.md P7/P8). Nudging the value (adding 1e-6) would change what the peer
 * sees; instead the extension below writes the exact 9 bytes `cb <IEEE 754 big-endian>` in place.
 */
export class Float64 {
  constructor(readonly value: number) {}
}

// msgpackr requires an extension type code, but pack() below writes in place and returns nothing, so no ext
// frame with this code is ever emitted. msgpackr's extension table is process-wide; this entry only matches
// Float64 instances, which only this module creates. Incoming ext types are refused before msgpackr sees
// them (frame-check.ts), so the decode side of this registration is never reached.
const FLOAT64_EXT_TYPE = 0x46
type AllocateForWrite = (size: number) => { target: Uint8Array; position: number }
addExtension({
  Class: Float64,
  type: FLOAT64_EXT_TYPE,
  // msgpackr's typings omit the in-place writer argument that its runtime passes.
  pack: ((value: Float64, allocateForWrite: AllocateForWrite): undefined => {
    const { target, position } = allocateForWrite(9)
    target[position] = 0xcb
    new DataView(target.buffer, target.byteOffset, target.byteLength).setFloat64(position + 1, value.value)
    return undefined
  }) as unknown as (value: unknown) => Buffer,
})

// useRecords:false — msgpackr's default record extension (0x72) is unreadable for Python (P22).
// variableMapSize — fixmap headers for small maps, byte-identical to what Python's msgpack emits.
// encodeUndefinedAsNil — a second guard behind toWireValue(): never emit `d4 00 00` (P22).
const packr = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true })
// mapsAsObjects:false keeps integer keys as numbers (P1/P2); fromWireValue() then turns string-keyed maps into
// plain objects.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'number' })

export function packValue(value: unknown): Buffer {
  return packr.pack(value)
}

export function unpackValue(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes)
}

// ---- Locust ≥ 2.20 custom types (rpc/protocol.py encode/decode) ------------------------------------------

/**
 * Locust writes a naive `datetime` as `strftime("%Y%m%dT%H:%M:%S.%f")`, with no time zone. Horde reads and
 * writes it as UTC, which is what a Python peer gets from `datetime.utcnow()`; a peer that used local time
 * would be off by its UTC offset, which the format cannot tell us.
 */
export function formatLocustDatetime(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  return (
    `${pad(date.getUTCFullYear(), 4)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}T` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.` +
    `${pad(date.getUTCMilliseconds(), 3)}000`
  )
}

const DATETIME_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/

/** Parses Locust's datetime text; null when it is not in that format (left as a plain map then). */
export function parseLocustDatetime(text: string): Date | null {
  const match = DATETIME_PATTERN.exec(text)
  if (!match) return null
  const [, year, month, day, hour, minute, second, fraction = '0'] = match.map((part) => part ?? '')
  const ms = Math.floor(Number(fraction.padEnd(6, '0')) / 1000)
  const date = new Date(
    Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second), ms),
  )
  // Date.UTC rolls invalid fields over (month 13 → next year); Python's strptime refuses them.
  if (
    Number.isNaN(date.getTime()) ||
    date.getUTCMonth() !== Number(month) - 1 ||
    date.getUTCDate() !== Number(day)
  ) {
    return null
  }
  return date
}

// ---- decoded msgpack → JavaScript ---------------------------------------------------------------------------

/**
 * Normalises what msgpackr decoded (with mapsAsObjects:false every map is a Map): maps whose keys are all
 * strings become plain objects (built with Object.fromEntries, so a `__proto__` key stays an own property),
 * other maps stay Maps (integer/float keys, P2), and `{"__datetime__": …, "as_str": …}` becomes a Date, as
 * Locust's object_hook does for every map.
 */
export function fromWireValue(value: unknown): unknown {
  if (value instanceof Map) {
    const map = value as Map<unknown, unknown>
    if (map.has('__datetime__')) {
      const asStr: unknown = map.get('as_str')
      const date = typeof asStr === 'string' ? parseLocustDatetime(asStr) : null
      if (date) return date
    }
    // One pass, no intermediate entry arrays: this runs on every map of every report's extension.
    const object: Record<string, unknown> = {}
    for (const [key, item] of map) {
      if (typeof key !== 'string') return mapFromWire(map)
      if (key === '__proto__') Object.defineProperty(object, key, ownProperty(fromWireValue(item)))
      else object[key] = fromWireValue(item)
    }
    return object
  }
  if (Array.isArray(value)) return allScalars(value) ? value : value.map(fromWireValue)
  return value
}

function mapFromWire(map: Map<unknown, unknown>): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>()
  for (const [key, item] of map) out.set(key, fromWireValue(item))
  return out
}

/** What Object.fromEntries gives a key: an own, writable, enumerable, configurable property. */
function ownProperty(value: unknown): PropertyDescriptor {
  return { value, writable: true, enumerable: true, configurable: true }
}

/**
 * Arrays of numbers, strings, nil and binary (the Horde extension's rows: hundreds of items per report) need no
 * conversion either way: passing them through saves the master a copy and a call per item.
 */
function allScalars(values: readonly unknown[]): boolean {
  for (const item of values) {
    if (typeof item === 'number' || typeof item === 'string' || item === null || item instanceof Uint8Array)
      continue
    return false
  }
  return true
}

// ---- JavaScript → msgpack-ready values ----------------------------------------------------------------------

/**
 * Makes free-form data (custom messages, parsed_options, report extras) safe for any Locust peer: undefined,
 * functions and symbols → nil (P22), Date → Locust's datetime map, Set → array, Map kept (its keys stay
 * integers), class instances → their own enumerable fields, cycles → nil. Float64 and binary pass through.
 */
export function toWireValue(value: unknown, seen: Set<object> = new Set()): unknown {
  if (value === undefined || value === null) return null
  if (typeof value === 'function' || typeof value === 'symbol') return null
  if (typeof value !== 'object') return value
  if (value instanceof Float64 || value instanceof Uint8Array) return value
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? null : { __datetime__: true, as_str: formatLocustDatetime(value) }
  }
  if (seen.has(value)) return null
  seen.add(value)
  try {
    if (Array.isArray(value)) {
      return allScalars(value) ? value : value.map((item: unknown) => toWireValue(item, seen))
    }
    if (value instanceof Set) return [...(value as Set<unknown>)].map((item) => toWireValue(item, seen))
    if (value instanceof Map) {
      return new Map(
        [...(value as Map<unknown, unknown>)].map(([key, item]) => [key, toWireValue(item, seen)]),
      )
    }
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toWireValue(item, seen)]))
  } finally {
    seen.delete(value)
  }
}

// ---- error messages -----------------------------------------------------------------------------------------

/** describeValue() for decoded wire values: Maps print their entries, binary its size. */
export function describeWireValue(value: unknown): string {
  return describeValue(printable(value, 0))
}

function printable(value: unknown, depth: number): unknown {
  if (depth > 4) return '…'
  if (value instanceof Map) {
    return Object.fromEntries(
      [...(value as Map<unknown, unknown>)].map(([k, v]) => [String(k), printable(v, depth + 1)]),
    )
  }
  if (value instanceof Uint8Array) return `<${value.length} bytes>`
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map((item: unknown) => printable(item, depth + 1))
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, printable(v, depth + 1)]))
  }
  return value
}
