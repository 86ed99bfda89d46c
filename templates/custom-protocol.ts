/**
 * Custom protocol: a task that times its own work with `measure` and `record` (a TCP line protocol here).
 *
 * Start here for anything that is not HTTP: gRPC, a message queue, Redis, a proprietary TCP protocol.
 * `measure(type, name, fn)` times an async call and records it (a throw is a failure, re-thrown);
 * `record({ type, name, responseTimeMs, error })` records something you timed yourself. Both appear in
 * the stats, the report and thresholds under `type` (use `req_duration{type:...}`, not `http_*`).
 * Copy it with `horde new <name> --template custom-protocol` and replace the client.
 * This example speaks a line protocol ("PING\n" → "PONG\n") to HORDE_TCP_TARGET (host:port).
 * Run it locally: `HORDE_TCP_TARGET=127.0.0.1:7000 horde run scenarios/<name>.ts --users 10 --duration 1m
 * --host http://127.0.0.1:7000` (--host is only checked to accept TCP here; no HTTP is sent).
 */
import { connect, type Socket } from 'node:net'
import { defineScenario, user, task, constant } from 'horde'

const [TARGET_HOST = '127.0.0.1', TARGET_PORT = '7000'] = (
  process.env.HORDE_TCP_TARGET ?? '127.0.0.1:7000'
).split(':')

/** Each user keeps one connection open, like a client with a persistent session. */
interface Session {
  socket: Socket | null
  buffered: string
}

/** Opens the user's connection; the abort signal closes it when the user is stopped. */
function open(signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: TARGET_HOST, port: Number(TARGET_PORT) })
    socket.setNoDelay(true) // small request/response messages: do not wait to batch them (Nagle)
    socket.setEncoding('utf8')
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
    signal.addEventListener('abort', () => socket.destroy(), { once: true })
  })
}

/** Sends one line and resolves with the answer line; rejects after `timeoutMs` or on a closed socket. */
function roundTrip(session: Session, socket: Socket, line: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', onClose)
    }
    const onData = (chunk: string): void => {
      session.buffered += chunk
      const end = session.buffered.indexOf('\n')
      if (end < 0) return
      const answer = session.buffered.slice(0, end)
      session.buffered = session.buffered.slice(end + 1)
      cleanup()
      resolve(answer)
    }
    const onClose = (): void => {
      cleanup()
      reject(new Error('connection closed'))
    }
    // A protocol without a timeout can hang a user for ever: always bound a round trip.
    const timer = setTimeout(() => {
      cleanup()
      socket.destroy()
      reject(new Error(`no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on('data', onData)
    socket.once('close', onClose)
    socket.write(`${line}\n`)
  })
}

export default defineScenario({
  name: 'custom-protocol',
  // Only used by `horde run`'s reachability check here; the task talks to HORDE_TCP_TARGET.
  host: 'http://127.0.0.1:7000',
  users: {
    Client: user<Session>({
      // Paced: at most one ping every 100 ms per user, whatever the answer time.
      wait: constant('100ms'),
      state: () => ({ socket: null, buffered: '' }),
      onStart: async ({ state, record, signal }) => {
        // Connection set-up timed by hand and recorded under its own name: record() is for work you
        // measured yourself (or that another library measured for you).
        const started = performance.now()
        try {
          state.socket = await open(signal)
          record({ type: 'TCP', name: 'connect', responseTimeMs: performance.now() - started })
        } catch (error) {
          record({
            type: 'TCP',
            name: 'connect',
            responseTimeMs: performance.now() - started,
            error: error as Error,
          })
          throw error // onStart failing stops this user (reported as an exception)
        }
      },
      tasks: {
        ping: task(1, async ({ measure, state, signal }) => {
          const socket = state.socket
          if (socket === null || socket.destroyed) {
            if (!signal.aborted) state.socket = await open(signal) // reconnect after a failure
            return
          }
          // measure() times the call and records it as TCP / ping; a throw (timeout, closed socket,
          // wrong answer) is recorded as a failure and re-thrown, and the user carries on.
          await measure('TCP', 'ping', async () => {
            const answer = await roundTrip(state, socket, 'PING', 2000)
            if (answer !== 'PONG')
              throw new Error(`expected PONG, got ${JSON.stringify(answer.slice(0, 40))}`)
          })
        }),
      },
      onStop: ({ state }) => {
        state.socket?.end()
      },
    }),
  },
  thresholds: {
    // Generic metrics look at every request type; `{type:TCP}` narrows them to this protocol.
    'req_duration{type:TCP}': ['p(95)<50'],
    'req_failed{type:TCP}': ['rate<0.01'],
  },
  stopTimeout: '2s',
})
