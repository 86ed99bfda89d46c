// A minimal Locust-protocol master for benchmarks: registers one real `horde worker` process, spawns N users
// of one class, collects its stats reports, and quits it after the given time. The master does a few
// messages per second, so nearly all the CPU measured is the worker's.
//   node bench/worker-harness.mjs closed USERS SECONDS   → {"rps":N, ...} last line
//   node bench/worker-harness.mjs idle USERS             → {"users":N,"rssBytes":..,"bytesPerUser":..}
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MasterSocket } from '../dist/src/protocol/index.js'

const [mode = 'closed', usersArg = '64', secondsArg = '10'] = process.argv.slice(2)
const users = Number(usersArg)
const seconds = Number(secondsArg)
const root = fileURLToPath(new URL('..', import.meta.url))
const scenario = mode === 'idle' ? 'bench/scenarios/idle-users.ts' : 'bench/scenarios/closed-small.ts'
const userClass = mode === 'idle' ? 'Sleeper' : 'Hammer'

const master = await MasterSocket.bind({ host: '127.0.0.1', port: 0 })
const worker = spawn(
  process.execPath,
  ['bin/horde.js', 'worker', scenario, '--master-port', String(master.port)],
  {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, HORDE_LOG_LEVEL: 'warn' },
  },
)
const hardStop = setTimeout(() => worker.kill('SIGKILL'), (seconds + 60) * 1000)

let nodeId = null
let requests = 0
let lastRss = 0
let spawnedAt = 0
let spawned
const spawnedPromise = new Promise((r) => (spawned = r))
const quitPromise = new Promise((resolve) => {
  master.onMessage((id, { message }) => {
    if (message.type === 'clientReady') {
      nodeId = id
      master.send(id, { type: 'ack', index: 0 })
      master.send(id, {
        type: 'spawn',
        timestamp: Date.now() / 1000 + 0.000123,
        userClassesCount: { [userClass]: users },
        host: null,
        stopTimeoutSec: 0,
        parsedOptions: {},
      })
      spawnedAt = performance.now()
    } else if (message.type === 'spawningComplete') spawned()
    else if (message.type === 'stats') requests += message.report.statsTotal.numRequests
    else if (message.type === 'heartbeat') {
      lastRss = message.memoryBytes ?? lastRss
      master.send(id, { type: 'heartbeat' })
    } else if (message.type === 'quit') resolve()
  })
})

await spawnedPromise
if (mode === 'idle') {
  // Let the users settle, then read RSS from a few heartbeats.
  await new Promise((r) => setTimeout(r, 4000))
  const rssIdle = lastRss
  master.send(nodeId, { type: 'quit' })
  await quitPromise
  console.log(JSON.stringify({ users, rssBytes: rssIdle, rssMB: Math.round(rssIdle / 1e6) }))
} else {
  await new Promise((r) => setTimeout(r, seconds * 1000))
  master.send(nodeId, { type: 'quit' })
  const quitSentAt = performance.now()
  await quitPromise
  const elapsedS = (quitSentAt - spawnedAt) / 1000
  console.log(JSON.stringify({ rps: Math.round(requests / elapsedS), requests, seconds: elapsedS }))
}
clearTimeout(hardStop)
await new Promise((r) => worker.once('exit', r))
await master.close()
