/**
 * A mergeable response-time histogram with logarithmic buckets (DDSketch's log mapping): value v (µs, ≥ 1) goes
 * to bucket ⌈ln v / ln γ⌉ with γ = (1 + α) / (1 − α), and a bucket is read back as 2γ^i / (γ + 1). Every value
 * read back is within α of every value the bucket holds, so any percentile (a value of rank ⌈q·n⌉ among the
 * recorded values) read from a histogram, or from a merge of any number of them, is within α (0.5 %) of the exact
 * percentile of the raw samples, plus the rounding of each sample to the microsecond (≤ 0.5 µs).
 *
 * Why this and not HdrHistogram: merging two of these is adding counts key by key, linear in the non-empty
 * buckets, with nothing to decode. HdrHistogram's compressed base64 cost 3–6 ms to decode and add per histogram
 * on the master (issue 9), and its buckets are dense over a range set up front. The buckets here are sparse: a
 * response-time distribution over 1 ms – 10 s touches at most ~920 of them, a typical per-second endpoint
 * histogram a few dozen. They are kept dense over the range actually seen (recording is an array increment);
 * the master keeps settled seconds as summaries.
 *
 * Wire form: one msgpack bin (bytes) of unsigned LEB128 varints,
 * `minUs, maxUs, sumUs, zeroCount, count, lastIndex, i0, c0, i1 − i0, c1, i2 − i1, c2, …`: `count` is every
 * value held (zeroCount included), `lastIndex` the highest bucket index (0 when there is none), bucket indexes
 * ascend and after the first are deltas. An empty histogram is six zero bytes. Bytes rather than a msgpack array
 * of integers (version 2): the master's msgpack decoder and frame check then step over a histogram in one move
 * instead of once per number, and `count` and `lastIndex` let it size its buckets and check the counts without a
 * second pass (bench/README.md: the codec's share of a report fell by about half).
 */

/** Relative accuracy α of every value read back (and so of every percentile): 0.5 %. */
export const LOG_HISTOGRAM_RELATIVE_ERROR = 0.005
const GAMMA = (1 + LOG_HISTOGRAM_RELATIVE_ERROR) / (1 - LOG_HISTOGRAM_RELATIVE_ERROR)
const INV_LN_GAMMA = 1 / Math.log(GAMMA)
/**
 * Highest bucket index accepted from the wire: γ^6000 ≈ 1.4·10^26 µs, far beyond any response time; it only
 * bounds what a hostile peer can make the master allocate per histogram.
 */
export const LOG_HISTOGRAM_MAX_INDEX = 6000
/** minUs, maxUs, sumUs, zeroCount, count, lastIndex. */
const HEADER_NUMBERS = 6
/** 8 × 7 bits = 56 ≥ 53: every safe integer fits; a longer varint is refused. */
const MAX_VARINT_BYTES = 8
/** The longest honest wire: every bucket present, every number at its longest. */
const MAX_WIRE_BYTES = (HEADER_NUMBERS + 2 * (LOG_HISTOGRAM_MAX_INDEX + 1)) * MAX_VARINT_BYTES
/** Buckets allocated at first: a 1.9× spread of values, grown by doubling from there. */
const INITIAL_BUCKETS = 64
/** Buckets allocated at first by a histogram that merges wires. */
const MERGE_INITIAL_BUCKETS = 256
const EMPTY = new Float64Array(0)

/** The bucket of a value in µs (≥ 1). */
function indexOf(valueUs: number): number {
  const index = Math.ceil(Math.log(valueUs) * INV_LN_GAMMA)
  return index > LOG_HISTOGRAM_MAX_INDEX ? LOG_HISTOGRAM_MAX_INDEX : index
}

/** The value a bucket reads back as (µs): the point within α of both ends of (γ^(i−1), γ^i]. */
function valueOf(index: number): number {
  return (2 * Math.pow(GAMMA, index)) / (GAMMA + 1)
}

export class LogHistogram {
  /**
   * Counts of buckets offset … offset + length − 1, dense over the range seen so far: recording is an array
   * increment, and encoding walks only [lo, hi], the buckets between the lowest and highest non-empty one.
   * Response times cluster, so that range is a few hundred buckets at most (a 40× spread is ~370).
   */
  #counts = EMPTY
  #offset = 0
  #lo = Number.POSITIVE_INFINITY
  #hi = Number.NEGATIVE_INFINITY
  /** Samples below 1 µs (rounded to 0). */
  zeroCount = 0
  totalCount = 0
  /** Exact extremes and sum of the recorded values (µs, rounded). */
  minUs = 0
  maxUs = 0
  sumUs = 0

  /** Records a response time given in (fractional) milliseconds. Hot path: no allocation once the range is set. */
  recordMs(responseTimeMs: number): void {
    this.recordUs(Math.round(responseTimeMs * 1000))
  }

  recordUs(valueUs: number): void {
    const value = valueUs > 0 ? valueUs : 0
    if (this.totalCount === 0 || value < this.minUs) this.minUs = value
    if (value > this.maxUs) this.maxUs = value
    this.totalCount++
    this.sumUs += value
    if (value < 1) {
      this.zeroCount++
      return
    }
    this.#bump(indexOf(value), 1)
  }

  #bump(index: number, count: number): void {
    let slot = index - this.#offset
    if (slot < 0 || slot >= this.#counts.length) {
      this.#grow(index)
      slot = index - this.#offset
    }
    this.#counts[slot] = (this.#counts[slot] as number) + count
    if (index < this.#lo) this.#lo = index
    if (index > this.#hi) this.#hi = index
  }

  /** Makes room for indexes lo … hi. */
  #reserve(lo: number, hi: number): void {
    const counts = this.#counts
    if (counts.length === 0) {
      // A histogram that merges wires (the master's rows) meets many workers' ranges: room for a 13× spread
      // (and twice the first wire's) up front, since each growth is a fresh off-heap array (bench/README.md).
      const length = Math.max(MERGE_INITIAL_BUCKETS, 2 * (hi - lo + 1))
      this.#counts = new Float64Array(length)
      this.#offset = lo - ((length - (hi - lo + 1)) >> 1)
      return
    }
    if (lo < this.#offset) this.#grow(lo)
    if (hi >= this.#offset + this.#counts.length) this.#grow(hi)
  }

  /** Makes room for `index`, keeping what is there: doubles, so a run pays O(log range) copies. */
  #grow(index: number): void {
    const old = this.#counts
    if (old.length === 0) {
      this.#counts = new Float64Array(INITIAL_BUCKETS)
      this.#offset = index - (INITIAL_BUCKETS >> 1)
      return
    }
    const from = Math.min(this.#offset, index)
    const to = Math.max(this.#offset + old.length, index + 1)
    const length = Math.max(old.length * 2, to - from + INITIAL_BUCKETS)
    const offset = index < this.#offset ? to - length : from
    const counts = new Float64Array(length)
    counts.set(old, this.#offset - offset)
    this.#counts = counts
    this.#offset = offset
  }

  /** Adds another histogram into this one (in place). */
  add(other: LogHistogram): void {
    if (other.totalCount === 0) return
    this.#addExtremes(other.minUs, other.maxUs, other.totalCount, other.sumUs)
    this.zeroCount += other.zeroCount
    other.forEachBucket((index, count) => this.#bump(index, count))
  }

  /**
   * Adds a histogram in wire form (see the module comment) without building an object for it. The bytes must
   * have passed `isLogHistogramWire`. Linear in its non-empty buckets.
   */
  addWire(wire: Uint8Array): void {
    reader.at = 0
    const minUs = reader.next(wire)
    const maxUs = reader.next(wire)
    const sumUs = reader.next(wire)
    const zero = reader.next(wire)
    const count = reader.next(wire)
    const last = reader.next(wire)
    if (count === 0) return
    if (reader.at < wire.length) {
      // Room for the whole range at once (the header names both ends): growing bucket by bucket would copy.
      const first = reader.peek(wire)
      this.#reserve(first, last)
      let index = 0
      while (reader.at < wire.length) {
        index += reader.next(wire)
        const n = reader.next(wire)
        if (n !== 0) this.#bump(index, n)
      }
    }
    this.zeroCount += zero
    this.#addExtremes(minUs, maxUs, count, sumUs)
  }

  #addExtremes(minUs: number, maxUs: number, count: number, sumUs: number): void {
    if (this.totalCount === 0 || minUs < this.minUs) this.minUs = minUs
    if (maxUs > this.maxUs) this.maxUs = maxUs
    this.totalCount += count
    this.sumUs += sumUs
  }

  /** Calls `fn` with each non-empty bucket's read-back value (µs; 0 for the zero bucket) and count. */
  forEachValueUs(fn: (valueUs: number, count: number) => void): void {
    if (this.zeroCount > 0) fn(0, this.zeroCount)
    this.forEachBucket((index, count) => fn(valueOf(index), count))
  }

  /** Calls `fn` for every non-empty bucket, indexes ascending. */
  forEachBucket(fn: (index: number, count: number) => void): void {
    const counts = this.#counts
    for (let index = this.#lo; index <= this.#hi; index++) {
      const count = counts[index - this.#offset] as number
      if (count !== 0) fn(index, count)
    }
  }

  /** Non-empty buckets. */
  get bucketCount(): number {
    let n = 0
    this.forEachBucket(() => n++)
    return n
  }

  /** The wire form. Linear in the range of non-empty buckets, never in the whole value range. */
  toWire(): Uint8Array {
    const writer = wireWriter(HEADER_NUMBERS + 2 * (this.#hi - this.#lo + 1))
    writer.put(this.minUs)
    writer.put(this.maxUs)
    writer.put(this.sumUs)
    writer.put(this.zeroCount)
    writer.put(this.totalCount)
    writer.put(this.#hi >= this.#lo ? this.#hi : 0)
    const counts = this.#counts
    let previous = 0
    for (let index = this.#lo; index <= this.#hi; index++) {
      const count = counts[index - this.#offset] as number
      if (count === 0) continue
      writer.put(index - previous)
      writer.put(count)
      previous = index
    }
    return writer.bytes()
  }

  /**
   * The value (ms) at a percentile (0–100): the sample of rank ⌈q·n⌉, read back from its bucket and clamped to
   * the exact min and max. Within α of the exact percentile of the samples.
   */
  percentileMs(percentile: number): number {
    if (this.totalCount === 0) return 0
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.totalCount - 1e-9))
    if (rank <= this.zeroCount) return this.minUs / 1000
    let seen = this.zeroCount
    let valueUs = this.maxUs
    const counts = this.#counts
    for (let index = this.#lo; index <= this.#hi; index++) {
      seen += counts[index - this.#offset] as number
      if (seen >= rank) {
        valueUs = valueOf(index)
        break
      }
    }
    if (valueUs < this.minUs) valueUs = this.minUs
    if (valueUs > this.maxUs) valueUs = this.maxUs
    return valueUs / 1000
  }

  get meanMs(): number {
    return this.totalCount === 0 ? 0 : this.sumUs / this.totalCount / 1000
  }

  get minMs(): number {
    return this.minUs / 1000
  }

  get maxMs(): number {
    return this.maxUs / 1000
  }

  reset(): void {
    this.#counts.fill(0)
    this.#lo = Number.POSITIVE_INFINITY
    this.#hi = Number.NEGATIVE_INFINITY
    this.zeroCount = 0
    this.totalCount = 0
    this.minUs = 0
    this.maxUs = 0
    this.sumUs = 0
  }

  /** A copy, so merging for one question never changes a stored histogram. */
  clone(): LogHistogram {
    const copy = new LogHistogram()
    copy.add(this)
    return copy
  }

  static fromWire(wire: Uint8Array): LogHistogram {
    const histogram = new LogHistogram()
    histogram.addWire(wire)
    return histogram
  }
}

/**
 * Reads the varints of trusted bytes (checked by isLogHistogramWire). One shared cursor, not an object per
 * histogram: the master reads hundreds of histograms per report.
 */
const reader = {
  at: 0,
  next(bytes: Uint8Array): number {
    let byte = bytes[this.at++] as number
    if (byte < 0x80) return byte
    let value = byte & 0x7f
    let scale = 0x80
    do {
      byte = bytes[this.at++] as number
      value += (byte & 0x7f) * scale
      scale *= 0x80
    } while (byte >= 0x80)
    return value
  },
  /** The next number, without moving on. */
  peek(bytes: Uint8Array): number {
    const at = this.at
    const value = this.next(bytes)
    this.at = at
    return value
  },
}

/**
 * Writes varints into one scratch buffer shared by every encode (a worker encodes every endpoint's histograms
 * every few seconds) and hands out an exact-size copy.
 */
let scratch = new Uint8Array(4096)
let scratchAt = 0
const writer = {
  put(value: number): void {
    let rest = value
    while (rest >= 0x80) {
      scratch[scratchAt++] = (rest % 0x80) | 0x80
      rest = Math.floor(rest / 0x80)
    }
    scratch[scratchAt++] = rest
  },
  bytes(): Uint8Array {
    return scratch.slice(0, scratchAt)
  },
}

function wireWriter(numbers: number): typeof writer {
  const room = numbers * MAX_VARINT_BYTES
  if (scratch.length < room) scratch = new Uint8Array(Math.max(room, 2 * scratch.length))
  scratchAt = 0
  return writer
}

/** Counts in the wire form: every value it holds, read from its header. */
export function logHistogramWireCount(wire: Uint8Array): number {
  reader.at = 0
  for (let i = 0; i < 4; i++) reader.next(wire)
  return reader.next(wire)
}

/**
 * A varint of untrusted bytes starting at `at`: [value, next position], or null when it is truncated, longer than
 * MAX_VARINT_BYTES, overlong (a needless trailing zero group) or beyond the safe integers.
 */
function checkedVarint(bytes: Uint8Array, at: number): [number, number] | null {
  let value = 0
  let scale = 1
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const byte = bytes[at + i]
    if (byte === undefined) return null
    value += (byte & 0x7f) * scale
    if (byte < 0x80) {
      if (i > 0 && byte === 0) return null
      return Number.isSafeInteger(value) ? [value, at + i + 1] : null
    }
    scale *= 0x80
  }
  return null
}

/**
 * Checks a histogram from a peer: bytes holding the header and (index, count) pairs as canonical varints, indexes
 * strictly ascending within bounds, and a header whose `count` and `lastIndex` agree with the buckets (the master
 * trusts both to size and to check what it merges). A loop rather than a zod schema: it runs over every
 * histogram of every report.
 */
export function isLogHistogramWire(value: unknown): value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length > MAX_WIRE_BYTES) return false
  const header: number[] = []
  let at = 0
  for (let i = 0; i < HEADER_NUMBERS; i++) {
    const read = checkedVarint(value, at)
    if (read === null) return false
    header.push(read[0])
    at = read[1]
  }
  const [, , , zeroCount = 0, count = 0, lastIndex = 0] = header
  let index = 0
  let sum = zeroCount
  let pairs = 0
  while (at < value.length) {
    const step = checkedVarint(value, at)
    if (step === null) return false
    const n = checkedVarint(value, step[1])
    if (n === null) return false
    // The first index may be 0; later deltas must be ≥ 1 so indexes strictly ascend.
    if (pairs > 0 && step[0] === 0) return false
    index += step[0]
    if (index > LOG_HISTOGRAM_MAX_INDEX) return false
    sum += n[0]
    pairs++
    at = n[1]
  }
  // With no buckets index stays 0, so lastIndex must be 0 too.
  return sum === count && Number.isSafeInteger(sum) && lastIndex === index
}
