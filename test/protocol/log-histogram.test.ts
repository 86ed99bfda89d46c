import { pack, unpack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import {
  HORDE_EXTENSION_VERSION,
  decodeHordeExtension,
  encodeHordeExtension,
  unknownHordeExtensionVersion,
} from '../../src/protocol/horde-extension.js'
import {
  LOG_HISTOGRAM_MAX_INDEX,
  LOG_HISTOGRAM_RELATIVE_ERROR,
  LogHistogram,
  isLogHistogramWire,
  logHistogramWireCount,
} from '../../src/protocol/log-histogram.js'

/** Unsigned LEB128, as the wire form (test-side, so hostile forms can be written too). */
function varints(...numbers: number[]): Uint8Array {
  const out: number[] = []
  for (let rest of numbers) {
    while (rest >= 0x80) {
      out.push((rest % 0x80) | 0x80)
      rest = Math.floor(rest / 0x80)
    }
    out.push(rest)
  }
  return Uint8Array.from(out)
}

describe('LogHistogram', () => {
  it('reads every recorded value back within 0.5 %, from 1 µs to one hour', () => {
    for (let valueUs = 1; valueUs < 3_600_000_000; valueUs = Math.ceil(valueUs * 1.37)) {
      const h = new LogHistogram()
      h.recordUs(valueUs)
      h.recordUs(valueUs * 2)
      const read = h.percentileMs(50) * 1000
      expect(Math.abs(read - valueUs) / valueUs).toBeLessThanOrEqual(LOG_HISTOGRAM_RELATIVE_ERROR + 1e-12)
    }
  })

  it('survives msgpack unchanged and merges in place from the wire form', () => {
    const a = new LogHistogram()
    const b = new LogHistogram()
    for (let i = 0; i < 1000; i++) a.recordMs(0.5 + i * 0.37)
    for (let i = 0; i < 500; i++) b.recordMs(i === 0 ? 0 : 200 + i)
    const packed = pack(b.toWire())
    // One msgpack bin: the decoder steps over it in one move (0xc5: bin 16, more than 255 bytes here).
    expect(packed[0]).toBe(0xc5)
    const wire = unpack(packed) as Uint8Array
    expect(isLogHistogramWire(wire)).toBe(true)
    expect(logHistogramWireCount(wire)).toBe(500)
    const merged = a.clone()
    merged.addWire(wire)
    const byObject = a.clone()
    byObject.add(b)
    expect(merged.toWire()).toEqual(byObject.toWire())
    expect(merged.totalCount).toBe(1500)
    expect(merged.zeroCount).toBe(1)
    expect(merged.minMs).toBe(0)
    expect(merged.maxMs).toBe(699)
    // Wire form stays small: indexes as deltas, counts as small integers, one or two bytes each.
    expect(pack(a.toWire()).length).toBeLessThan(2 * 1000)
    expect(new LogHistogram().toWire()).toEqual(varints(0, 0, 0, 0, 0, 0))
  })

  it('carries sums and counts up to 2^53 exactly', () => {
    const h = new LogHistogram()
    h.recordUs(2 ** 52)
    h.recordUs(2 ** 52 - 1)
    const copy = LogHistogram.fromWire(unpack(pack(h.toWire())) as Uint8Array)
    expect(copy.sumUs).toBe(2 ** 53 - 1)
    expect(copy.maxUs).toBe(2 ** 52)
    expect(copy.totalCount).toBe(2)
  })

  it('rejects hostile wire forms instead of allocating for them', () => {
    // minUs, maxUs, sumUs, zeroCount, count, lastIndex, then (index delta, count) pairs.
    expect(isLogHistogramWire(varints(0, 0, 0, 0, 0, 0))).toBe(true)
    expect(isLogHistogramWire(varints(5, 9, 14, 0, 2, 7, 3, 1, 4, 1))).toBe(true)
    expect(isLogHistogramWire(varints(0, 0, 0, 0, 0))).toBe(false) // short header
    expect(isLogHistogramWire(varints(0, 0, 0, 0, 1, 5, 5))).toBe(false) // an index without its count
    expect(isLogHistogramWire(varints(5, 9, 14, 0, 2, 7, 3, 1, 0, 1))).toBe(false) // indexes not ascending
    expect(isLogHistogramWire(varints(5, 9, 14, 0, 3, 7, 3, 1, 4, 1))).toBe(false) // count disagrees
    expect(isLogHistogramWire(varints(5, 9, 14, 0, 2, 9, 3, 1, 4, 1))).toBe(false) // lastIndex disagrees
    const tooHigh = LOG_HISTOGRAM_MAX_INDEX + 1
    expect(isLogHistogramWire(varints(0, 0, 0, 0, 1, tooHigh, tooHigh, 1))).toBe(false)
    expect(isLogHistogramWire(varints(0, 0, 2 ** 60, 0, 0, 0))).toBe(false) // beyond the safe integers
    expect(isLogHistogramWire(Uint8Array.from([0x80, 0x00, 0, 0, 0, 0, 0]))).toBe(false) // overlong varint
    expect(isLogHistogramWire(Uint8Array.from([0, 0, 0, 0, 0, 0x80]))).toBe(false) // truncated varint
    expect(isLogHistogramWire(new Uint8Array(1_000_000))).toBe(false) // longer than any honest histogram
    expect(isLogHistogramWire([0, 0, 0, 0, 0, 0])).toBe(false) // version 2's integer array
    expect(isLogHistogramWire('AAAA')).toBe(false)
  })
})

describe('Horde extension version', () => {
  it('decodes its own version and names any other (v1 HdrHistogram base64, v2 integer arrays, a future v4) instead of throwing', () => {
    const h = new LogHistogram()
    h.recordMs(12)
    const extension = encodeHordeExtension({ entries: [{ method: 'GET', name: '/x', histogram: h }] })
    expect(extension.v).toBe(HORDE_EXTENSION_VERSION)
    const hist = decodeHordeExtension({ horde: unpack(pack(extension)) })?.entries[0]?.hist
    expect(Uint8Array.from(hist ?? [])).toEqual(h.toWire())
    expect(unknownHordeExtensionVersion({ horde: extension })).toBeNull()
    const v1 = { v: 1, unit: 'us', sigDigits: 3, entries: [{ method: 'GET', name: '/x', hist: 'HISTFAAAA' }] }
    expect(decodeHordeExtension({ horde: v1 })).toBeNull()
    expect(unknownHordeExtensionVersion({ horde: v1 })).toBe(1)
    const v2 = {
      v: 2,
      unit: 'us',
      alpha: 0.005,
      entries: [{ method: 'GET', name: '/x', hist: [0, 0, 0, 0] }],
    }
    expect(decodeHordeExtension({ horde: v2 })).toBeNull()
    expect(unknownHordeExtensionVersion({ horde: v2 })).toBe(2)
    expect(unknownHordeExtensionVersion({ horde: new Map([['v', 4]]) })).toBe(4)
    expect(unknownHordeExtensionVersion({})).toBeNull()
  })
})

describe('Horde extension checks (the loop that replaced zod for the histogram lists)', () => {
  const valid = (): Record<string, unknown> => {
    const h = new LogHistogram()
    h.recordMs(12)
    return unpack(
      pack(
        encodeHordeExtension({
          entries: [{ method: 'GET', name: '/x', second: 1_767_225_600, histogram: h }],
          seconds: [{ second: 1_767_225_600, histogram: h }],
          eventLoopDelayMaxMs: 3,
        }),
      ),
    ) as Record<string, unknown>
  }

  it('keeps every field of a valid extension', () => {
    const decoded = decodeHordeExtension({ horde: valid() })
    expect(decoded?.entries).toHaveLength(1)
    expect(decoded?.entries[0]?.second).toBe(1_767_225_600)
    expect(decoded?.seconds?.[0]?.hist).toEqual(decoded?.entries[0]?.hist)
    expect(decoded?.eventLoopDelayMaxMs).toBe(3)
  })

  const empty = varints(0, 0, 0, 0, 0, 0)
  it.each([
    ['entries not a list', { entries: {} }],
    ['a row cut short', { entries: ['GET', '/x', null] }],
    ['a row as a map (version 2)', { entries: [{ method: 'GET', name: '/x', hist: empty }] }],
    ['a method that is not a string', { entries: [1, '/x', null, empty] }],
    ['a non-finite second', { entries: ['GET', '/x', Infinity, empty] }],
    ['a second that is text', { entries: ['GET', '/x', '1767225600', empty] }],
    ['a bad histogram', { entries: ['GET', '/x', null, varints(0, 0, 0, 0, 1, 3, 3, 2)] }],
    ['a seconds row without its second', { seconds: [empty] }],
    ['a bad corrected row', { correctedEntries: ['GET', '/x', null, [0, 0, 0, 0]] }],
    ['a wrong unit', { unit: 'ms' }],
    ['a bad loop delay', { eventLoopDelayMaxMs: 'slow' }],
  ])('rejects %s (the master then uses Locust buckets)', (_, change) => {
    expect(decodeHordeExtension({ horde: { ...valid(), ...change } })).toBeNull()
  })
})
