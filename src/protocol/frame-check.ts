/**
 * A structural pre-check of one msgpack frame before msgpackr decodes it. msgpackr is lenient where Python's
 * msgpack (what Locust uses) is strict: it replaces invalid UTF-8 with U+FFFD instead of failing, and it
 * decodes extension types into JavaScript objects (Set, Error, RegExp, records) that no Locust peer sends.
 * Walking the bytes once lets a bad frame be rejected with a precise reason instead of turning into
 * plausible-looking data.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Locust messages nest about five levels deep; anything far deeper is hostile or broken. */
export const MAX_NESTING_DEPTH = 64

/** Returns null when `bytes` holds exactly one well-formed msgpack value, otherwise why it does not. */
export function checkFrame(bytes: Uint8Array): string | null {
  if (bytes.length === 0) return 'the frame is empty'
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let position = 0
  // Values still to read at each open array/map level; the bottom entry is the single top-level value.
  const remaining: number[] = [1]

  const take = (size: number): number => {
    const start = position
    if (size > bytes.length - position) throw new FrameError(`truncated at byte ${start}`)
    position += size
    return start
  }
  const uint = (size: 1 | 2 | 4): number => {
    const start = take(size)
    return size === 1 ? view.getUint8(start) : size === 2 ? view.getUint16(start) : view.getUint32(start)
  }
  const open = (count: number): void => {
    if (count === 0) return
    if (remaining.length > MAX_NESTING_DEPTH)
      throw new FrameError(`nested deeper than ${MAX_NESTING_DEPTH} levels`)
    remaining.push(count)
  }
  const text = (length: number): void => {
    const start = take(length)
    // Nearly every string on this wire is short ASCII (keys, endpoint names): a byte loop settles those without
    // the cost of a TextDecoder call per string.
    let ascii = true
    for (let i = start; i < start + length; i++) {
      if ((bytes[i] as number) > 0x7f) {
        ascii = false
        break
      }
    }
    if (ascii) return
    try {
      utf8.decode(bytes.subarray(start, start + length))
    } catch {
      throw new FrameError(`invalid UTF-8 in the string at byte ${start}`)
    }
  }

  try {
    for (;;) {
      while (remaining.length > 0 && remaining[remaining.length - 1] === 0) remaining.pop()
      if (remaining.length === 0) break
      const top = remaining.length - 1
      let left = remaining[top] ?? 0
      const first = bytes[position]
      if (first !== undefined && (first <= 0x7f || first >= 0xe0)) {
        // A run of fixints in one array (most of a Horde histogram's bytes) is skipped in one tight loop: the
        // general dispatch below cost the master about as much as msgpackr's own decode (bench/README.md).
        let next = position
        let byte: number = first
        do {
          next++
          left--
          byte = bytes[next] ?? 0xc1
        } while (left > 0 && (byte <= 0x7f || byte >= 0xe0))
        position = next
        remaining[top] = left
        continue
      }
      remaining[top] = left - 1
      const at = position
      const byte = uint(1)
      if (byte <= 0x8f) open(2 * (byte & 0x0f))
      else if (byte <= 0x9f) open(byte & 0x0f)
      else if (byte <= 0xbf) text(byte & 0x1f)
      else {
        switch (byte) {
          case 0xc0: // nil
          case 0xc2: // false
          case 0xc3: // true
            break
          case 0xc4:
          case 0xc5:
          case 0xc6: // bin 8/16/32
            take(uint(byte === 0xc4 ? 1 : byte === 0xc5 ? 2 : 4))
            break
          case 0xca:
            take(4)
            break
          case 0xcb:
            take(8)
            break
          case 0xcc:
          case 0xd0:
            take(1)
            break
          case 0xcd:
          case 0xd1:
            take(2)
            break
          case 0xce:
          case 0xd2:
            take(4)
            break
          case 0xcf:
          case 0xd3:
            take(8)
            break
          case 0xd9:
            text(uint(1))
            break
          case 0xda:
            text(uint(2))
            break
          case 0xdb:
            text(uint(4))
            break
          case 0xdc:
            open(uint(2))
            break
          case 0xdd:
            open(uint(4))
            break
          case 0xde:
            open(2 * uint(2))
            break
          case 0xdf:
            open(2 * uint(4))
            break
          case 0xc1:
            throw new FrameError(`byte 0xc1 (never used in msgpack) at byte ${at}`)
          default:
            // 0xc7–0xc9 and 0xd4–0xd8: extension types. Neither Locust nor Boomer sends them.
            throw new FrameError(
              `msgpack extension type (0x${byte.toString(16)}) at byte ${at}, which Locust never sends`,
            )
        }
      }
    }
  } catch (error) {
    if (error instanceof FrameError) return error.message
    throw error
  }
  if (position !== bytes.length) {
    return `${bytes.length - position} unexpected bytes after the msgpack value (byte ${position} of ${bytes.length})`
  }
  return null
}

class FrameError extends Error {}
