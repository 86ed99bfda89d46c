// In-process engine loop (no master, no worker process) for profiling the hot path with --cpu-prof:
//   node --cpu-prof bench/engine-profile.mjs URL USERS SECONDS
import { pino } from 'pino'
import { HttpTransport } from '../dist/src/worker/http/http-client.js'
import { RequestStats } from '../dist/src/worker/stats.js'
import { StatsHistograms } from '../dist/src/worker/stats-histograms.js'
import { UserPool } from '../dist/src/worker/user-pool.js'
import { UserClass } from '../dist/src/worker/user-runner.js'
import { constant, task, user } from '../dist/src/worker/scenario.js'

const [url = 'http://127.0.0.1:18080/small', usersArg = '64', secondsArg = '10'] = process.argv.slice(2)
const u = new URL(url)
if (!u.hostname.startsWith('127.')) throw new Error('loopback only')
const transport = new HttpTransport({
  baseUrl: u.origin,
  keepAlive: true,
  connections: null,
  timeoutMs: 30000,
  headers: {},
})
const stats = new RequestStats()
const histograms = new StatsHistograms()
stats.onLog = (entry, ms, _f, lag) => histograms.record(entry, ms, lag)
const def = user({ wait: constant(0), tasks: { t: task(1, ({ http }) => http.get(u.pathname)) } })
const pool = new UserPool(
  new Map([['U', new UserClass('U', def)]]),
  transport,
  stats,
  pino({ level: 'silent' }),
  () => 0,
  () => {},
)
let requests = 0
const report = setInterval(() => {
  requests += stats.takeDelta().statsTotal.numRequests
  histograms.take(undefined)
}, 3000)
const t0 = performance.now()
pool.setCounts({ U: Number(usersArg) }, 0)
await new Promise((r) => setTimeout(r, Number(secondsArg) * 1000))
await pool.stopAll(0)
clearInterval(report)
requests += stats.takeDelta().statsTotal.numRequests
console.log(JSON.stringify({ rps: Math.round(requests / ((performance.now() - t0) / 1000)) }))
await transport.destroy()
