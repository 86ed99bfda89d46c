// A loopback HTTP target instrumented with the same dd-trace as the workers, in its own process: dd-trace is
// initialised before `http` is required, as an instrumented service does. Its spans go to the fake agent
// (DD_TRACE_AGENT_URL). It prints one JSON line per request with the trace headers it received, so a test
// checks what was propagated. GET /fail answers 500; anything else 200.
'use strict'
const tracer = require('dd-trace').init({
  service: process.env.TARGET_SERVICE || 'traced-target',
  env: 'test',
  flushInterval: 200,
  startupLogs: false,
  tracePropagationStyle: { inject: ['datadog', 'tracecontext'], extract: ['datadog', 'tracecontext'] },
})
tracer.use('dns', false)
tracer.use('net', false)
const http = require('http')

const server = http.createServer((req, res) => {
  const h = req.headers
  process.stdout.write(
    `${JSON.stringify({
      seen: req.url,
      traceId: h['x-datadog-trace-id'] ?? null,
      parentId: h['x-datadog-parent-id'] ?? null,
      priority: h['x-datadog-sampling-priority'] ?? null,
      traceparent: h.traceparent ?? null,
    })}\n`,
  )
  res.statusCode = req.url === '/fail' ? 500 : 200
  res.end('ok')
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`))
process.on('SIGTERM', () => {
  server.close()
  // Let dd-trace flush what is left (its beforeExit handler), then go.
  tracer._tracer._exporter.flush(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
})
