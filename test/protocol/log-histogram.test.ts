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
} from '../../src/protocol/log-histogram.js'

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
    const wire = unpack(pack(b.toWire())) as number[]
    expect(isLogHistogramWire(wire)).toBe(true)
    const merged = a.clone()
    merged.addWire(wire)
    const byObject = a.clone()
    byObject.add(b)
    expect(merged.toWire()).toEqual(byObject.toWire())
    expect(merged.totalCount).toBe(1500)
    expect(merged.zeroCount).toBe(1)
    expect(merged.minMs).toBe(0)
    expect(merged.maxMs).toBe(699)
    // Wire form stays small: indexes as deltas, counts as small integers.
    expect(pack(a.toWire()).length).toBeLessThan(2 * 1000)
  })

  it('rejects hostile wire forms instead of allocating for them', () => {
    expect(isLogHistogramWire([0, 0, 0, 0])).toBe(true)
    expect(isLogHistogramWire([0, 0, 0])).toBe(false)
    expect(isLogHistogramWire([0, 0, 0, 0, 5])).toBe(false)
    expect(isLogHistogramWire([0, 0, 0, 0, -1, 1])).toBe(false)
    expect(isLogHistogramWire([0, 0, 0, 0, 1.5, 1])).toBe(false)
    expect(isLogHistogramWire([0, 0, 0, 0, 3, 1, 0, 1])).toBe(false)
    expect(isLogHistogramWire([0, 0, 0, 0, LOG_HISTOGRAM_MAX_INDEX + 1, 1])).toBe(false)
    expect(isLogHistogramWire([0, 0, 0, 0, 1, 2 ** 60])).toBe(false)
    expect(isLogHistogramWire('AAAA')).toBe(false)
  })
})

describe('Horde extension version', () => {
  it('decodes its own version and names any other (v1 HdrHistogram base64, a future v3) instead of throwing', () => {
    const h = new LogHistogram()
    h.recordMs(12)
    const extension = encodeHordeExtension({ entries: [{ method: 'GET', name: '/x', histogram: h }] })
    expect(extension.v).toBe(HORDE_EXTENSION_VERSION)
    expect(decodeHordeExtension({ horde: unpack(pack(extension)) })?.entries[0]?.hist).toEqual(h.toWire())
    expect(unknownHordeExtensionVersion({ horde: extension })).toBeNull()
    const v1 = { v: 1, unit: 'us', sigDigits: 3, entries: [{ method: 'GET', name: '/x', hist: 'HISTFAAAA' }] }
    expect(decodeHordeExtension({ horde: v1 })).toBeNull()
    expect(unknownHordeExtensionVersion({ horde: v1 })).toBe(1)
    expect(unknownHordeExtensionVersion({ horde: new Map([['v', 3]]) })).toBe(3)
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

  it.each([
    ['entries not a list', { entries: {} }],
    ['an entry not an object', { entries: [[1, 2]] }],
    ['a method that is not a string', { entries: [{ method: 1, name: '/x', hist: [0, 0, 0, 0] }] }],
    [
      'a non-finite second',
      { entries: [{ method: 'GET', name: '/x', second: Infinity, hist: [0, 0, 0, 0] }] },
    ],
    ['a bad histogram', { entries: [{ method: 'GET', name: '/x', hist: [0, 0, 0, 0, -1, 1] }] }],
    ['a seconds item without a second', { seconds: [{ hist: [0, 0, 0, 0] }] }],
    ['a wrong unit', { unit: 'ms' }],
    ['a bad loop delay', { eventLoopDelayMaxMs: 'slow' }],
  ])('rejects %s (the master then uses Locust buckets)', (_, change) => {
    expect(decodeHordeExtension({ horde: { ...valid(), ...change } })).toBeNull()
  })
})
