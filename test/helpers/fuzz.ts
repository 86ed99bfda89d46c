/**
 * Hostile input for the wire tests: captured Locust frames mutated deterministically (a seeded PRNG, so a
 * failure replays), and a raw ZMTP 3.0 peer that claims a huge frame, as a stray or hostile process would.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'

/** mulberry32: small, seeded, good enough to pick mutations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** msgpack headers whose length field a mutation may blow up: str8/16/32, bin8/16/32, array16/32, map16/32. */
const LENGTH_HEADERS = new Set([0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6, 0xdc, 0xdd, 0xde, 0xdf])

export function mutate(frames: Buffer[], random: () => number): Buffer {
  const pick = (n: number): number => Math.floor(random() * n)
  const source = frames[pick(frames.length)] as Buffer
  const bytes = Buffer.from(source)
  switch (pick(6)) {
    case 0: // truncated
      return bytes.subarray(0, pick(bytes.length))
    case 1: {
      // a few bytes changed
      for (let i = 0, n = 1 + pick(4); i < n && bytes.length > 0; i++) bytes[pick(bytes.length)] = pick(256)
      return bytes
    }
    case 2: {
      // random bytes inserted
      const at = pick(bytes.length + 1)
      const junk = Buffer.from(Array.from({ length: 1 + pick(16) }, () => pick(256)))
      return Buffer.concat([bytes.subarray(0, at), junk, bytes.subarray(at)])
    }
    case 3: {
      // a length field claims the maximum (a 4 GB string, a 4-billion-element array)
      const headers = [...bytes.keys()].filter((i) => LENGTH_HEADERS.has(bytes[i] as number))
      const at = headers.length > 0 ? (headers[pick(headers.length)] as number) : 0
      bytes[at] = [0xdb, 0xc6, 0xdd, 0xdf][pick(4)] as number
      if (bytes.length >= at + 5) bytes.writeUInt32BE(0xffffffff, at + 1)
      return bytes
    }
    case 4: // two frames glued together
      return Buffer.concat([bytes, frames[pick(frames.length)] as Buffer])
    default: // pure noise of a plausible size
      return Buffer.from(Array.from({ length: pick(512) }, () => pick(256)))
  }
}

/** RSS of a process we started, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
}

function greeting(): Buffer {
  const g = Buffer.alloc(64)
  g[0] = 0xff
  g[9] = 0x7f
  g[10] = 3 // ZMTP 3.0
  g[11] = 0
  g.write('NULL', 12, 'ascii')
  return g
}

function ready(socketType: string, identity?: string): Buffer {
  const property = (name: string, value: string): Buffer => {
    const head = Buffer.from([name.length])
    const size = Buffer.alloc(4)
    size.writeUInt32BE(Buffer.byteLength(value))
    return Buffer.concat([head, Buffer.from(name, 'ascii'), size, Buffer.from(value)])
  }
  const body = Buffer.concat([
    Buffer.from([5]),
    Buffer.from('READY', 'ascii'),
    property('Socket-Type', socketType),
    ...(identity !== undefined ? [property('Identity', identity)] : []),
  ])
  return Buffer.concat([Buffer.from([0x04, body.length]), body])
}

/** A long message frame header claiming `claimedBytes` of payload. */
function hugeFrameHeader(claimedBytes: bigint, more = false): Buffer {
  const header = Buffer.alloc(9)
  header[0] = more ? 0x03 : 0x02
  header.writeBigUInt64BE(claimedBytes, 1)
  return header
}

/**
 * Handshakes as `socketType` over `socket`, claims a frame of `claimedBytes` and streams up to `sendBytes` of
 * it. Resolves with how many bytes the peer took before it closed the connection (or all of them).
 */
async function claimHugeFrame(
  socket: Socket,
  socketType: string,
  claimedBytes: bigint,
  sendBytes: number,
  identity?: string,
): Promise<{ sentBytes: number; closedByPeer: boolean }> {
  let closed = false
  socket.on('error', () => (closed = true))
  socket.on('close', () => (closed = true))
  socket.write(greeting())
  socket.write(ready(socketType, identity))
  // ROUTER → DEALER carries no routing frame; DEALER → ROUTER neither (the ROUTER adds it).
  socket.write(hugeFrameHeader(claimedBytes))
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  let sent = 0
  while (sent < sendBytes && !closed) {
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => resolve()
        socket.once('drain', done)
        socket.once('close', done)
        setTimeout(done, 200)
      })
    }
    sent += chunk.length
  }
  await new Promise((r) => setTimeout(r, 300))
  socket.destroy()
  return { sentBytes: sent, closedByPeer: closed }
}

/** Connects to a ROUTER (a master) as a DEALER and claims a huge frame. */
export async function claimHugeFrameTo(
  port: number,
  claimedBytes: bigint,
  sendBytes: number,
): Promise<{ sentBytes: number; closedByPeer: boolean }> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return claimHugeFrame(socket, 'DEALER', claimedBytes, sendBytes, 'fuzz_huge')
}

/** Listens as a ROUTER (a fake master) and claims a huge frame to the first DEALER (a worker) that connects. */
export async function listenAndClaimHugeFrame(
  claimedBytes: bigint,
  sendBytes: number,
): Promise<{ port: number; result: Promise<{ sentBytes: number; closedByPeer: boolean }>; server: Server }> {
  let resolveResult!: (r: { sentBytes: number; closedByPeer: boolean }) => void
  const result = new Promise<{ sentBytes: number; closedByPeer: boolean }>((r) => (resolveResult = r))
  const server = createServer((socket) => {
    server.close()
    void claimHugeFrame(socket, 'ROUTER', claimedBytes, sendBytes).then(resolveResult)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { port, result, server }
}
