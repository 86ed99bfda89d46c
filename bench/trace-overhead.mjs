// What tracing costs a worker: one `horde worker` process, 64 users, no think time, against nginx (100 B),
// with tracing off and with tracing at 1 % sampling (dd-trace to a loopback agent that decodes and counts
// the spans), alternated in one run: off, on, off, on, ... (3 rounds of 10 s each by default), medians and
// the ratio. Only the ratio means anything on a shared machine.
//   node bench/trace-overhead.mjs [ROUNDS=3] [SECONDS=10] [SAMPLE=0.01]
// Needs: npm run build; nginx (scripts/install-test-deps.sh); ../shared/bench/nginx.sh (HORDE_NGINX_SH).
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { availableParallelism as availableCores, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Unpackr } from 'msgpackr'

const [roundsArg = '3', secondsArg = '10', sample = '0.01'] = process.argv.slice(2)
// The machine's 1-minute load average at the start and the end: a figure from a busy machine says so.
const loadAtStart = loadavg()[0]
const rounds = Number(roundsArg)
const root = fileURLToPath(new URL('..', import.meta.url))
const nginxSh = process.env.HORDE_NGINX_SH ?? join(root, '../shared/bench/nginx.sh')
const port = Number(process.env.BENCH_PORT ?? 18481)
const scratch = mkdtempSync(join(tmpdir(), 'horde-trace-bench-'))
// nginx's worker runs as another user: it must be able to read the files.
chmodSync(scratch, 0o755)

let spans = 0
const unpackr = new Unpackr({ int64AsType: 'bigint' })
const agent = createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    if (req.url === '/v0.4/traces') {
      for (const trace of unpackr.unpack(Buffer.concat(chunks))) spans += trace.length
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"rate_by_service":{}}')
    } else res.writeHead(404).end()
  })
})
await new Promise((resolve) => agent.listen(0, '127.0.0.1', resolve))
const agentUrl = `http://127.0.0.1:${agent.address().port}`

function runWorker(traced) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/worker-harness.mjs', 'closed', '64', secondsArg], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        HORDE_HOST: `http://127.0.0.1:${port}`,
        ...(traced ? { HORDE_TRACE: '1', HORDE_TRACE_SAMPLE: sample, DD_TRACE_AGENT_URL: agentUrl } : {}),
      },
    })
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? ''
      try {
        resolve(JSON.parse(last))
      } catch {
        reject(new Error(`harness exited ${code}: ${out}`))
      }
    })
  })
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const off = []
const on = []
const offCpu = []
const onCpu = []
let onRequests = 0
try {
  execFileSync('bash', [nginxSh, 'start', scratch], { env: { ...process.env, BENCH_PORT: String(port) } })
  for (let round = 0; round < rounds; round++) {
    const a = await runWorker(false)
    off.push(a.rps)
    offCpu.push(a.cpuUsPerRequest)
    const before = spans
    const b = await runWorker(true)
    on.push(b.rps)
    onCpu.push(b.cpuUsPerRequest)
    onRequests += b.requests ?? b.rps * Number(secondsArg)
    console.log(
      `round ${round + 1}: off ${Math.round(a.rps)} rps (${a.cpuUsPerRequest} µs CPU/req), on ${Math.round(b.rps)} rps (${b.cpuUsPerRequest} µs CPU/req), spans ${spans - before}`,
    )
  }
} finally {
  execFileSync('bash', [nginxSh, 'stop', scratch])
  agent.close()
  rmSync(scratch, { recursive: true, force: true })
}
const ratio = median(on) / median(off)
const cpuRatio = median(onCpu) / median(offCpu)
const loadAtEnd = loadavg()[0]
const fixed = (x, digits) => x.toFixed(digits)
// The figure: throughput with tracing at the sample vs off (goal: within 10 %), and CPU per request.
console.log(
  `tracing at ${Number(sample) * 100} %: throughput ${fixed(ratio, 3)}× off (${Math.round(median(on))} vs ${Math.round(median(off))} rps, goal ≥ 0.90), ` +
    `worker CPU per request ${fixed(cpuRatio, 3)}× off (${median(onCpu)} vs ${median(offCpu)} µs); ` +
    `medians of ${rounds} rounds of ${secondsArg} s; load average ${fixed(loadAtStart, 1)} → ${fixed(loadAtEnd, 1)} on ${availableCores()} cores`,
)
console.log(
  JSON.stringify({
    sample: Number(sample),
    offRps: Math.round(median(off)),
    onRps: Math.round(median(on)),
    ratio: Math.round(ratio * 1000) / 1000,
    // The worker's CPU per request (from its heartbeats): less sensitive to a busy machine than rps.
    offCpuUsPerRequest: median(offCpu),
    onCpuUsPerRequest: median(onCpu),
    cpuRatio: Math.round(cpuRatio * 1000) / 1000,
    loadAverage: [Math.round(loadAtStart * 10) / 10, Math.round(loadAtEnd * 10) / 10],
    spans,
    tracedShare: Math.round((spans / onRequests) * 10000) / 10000,
    off: off.map(Math.round),
    on: on.map(Math.round),
  }),
)
