import { createSocket, type Socket } from 'node:dgram'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Unpackr } from 'msgpackr'

/**
 * A loopback Datadog agent speaking the real intake formats, for the one boundary that cannot run here:
 * - the trace intake: `PUT /v0.4/traces` (and /v0.5 refused, so dd-trace stays on v0.4), a msgpack array of
 *   traces, each an array of spans; ids are uint64, decoded as BigInt (as Number they would lose precision);
 *   the answer is `{"rate_by_service":{}}` as the agent gives;
 * - DogStatsD over UDP: newline-separated `name:value|type|#tag,tag|T<unix seconds>` datagrams.
 * Both listen on 127.0.0.1, port 0.
 */
export interface AgentSpan {
  name: string
  service: string
  resource: string
  type?: string
  trace_id: bigint
  span_id: bigint
  parent_id: bigint
  error: number
  duration_ns: number
  meta: Record<string, string>
  metrics: Record<string, number>
}

export interface StatsdMetric {
  name: string
  value: number
  type: string
  tags: Record<string, string>
  /** The DogStatsD timestamp (unix seconds), when the client sent one. */
  timestampSec: number | null
  receivedAtMs: number
}

export interface FakeDatadogAgent {
  /** For DD_TRACE_AGENT_URL. */
  traceUrl: string
  statsdPort: number
  spans: AgentSpan[]
  metrics: StatsdMetric[]
  /** Every HTTP request path the agent saw (what else dd-trace talks to). */
  paths: string[]
  close(): Promise<void>
}

const unpackr = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true })

function toBigInt(value: unknown): bigint {
  return typeof value === 'bigint' ? value : BigInt(value as number)
}

export function parseDogStatsdLine(line: string, receivedAtMs: number): StatsdMetric | null {
  const [head, type, ...rest] = line.split('|')
  if (head === undefined || type === undefined) return null
  const colon = head.lastIndexOf(':')
  if (colon < 1) return null
  const tags: Record<string, string> = {}
  let timestampSec: number | null = null
  for (const part of rest) {
    if (part.startsWith('#')) {
      for (const t of part.slice(1).split(',')) {
        const i = t.indexOf(':')
        if (i > 0) tags[t.slice(0, i)] = t.slice(i + 1)
        else tags[t] = ''
      }
    } else if (part.startsWith('T')) timestampSec = Number(part.slice(1))
  }
  return {
    name: head.slice(0, colon),
    value: Number(head.slice(colon + 1)),
    type,
    tags,
    timestampSec,
    receivedAtMs,
  }
}

export async function startFakeDatadogAgent(): Promise<FakeDatadogAgent> {
  const spans: AgentSpan[] = []
  const metrics: StatsdMetric[] = []
  const paths: string[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      paths.push(`${req.method} ${req.url}`)
      if (req.method === 'PUT' && req.url === '/v0.4/traces') {
        const traces = unpackr.unpack(Buffer.concat(chunks)) as Array<Array<Record<string, unknown>>>
        for (const trace of traces) {
          for (const s of trace) {
            spans.push({
              name: String(s.name),
              service: String(s.service),
              resource: String(s.resource),
              ...(typeof s.type === 'string' ? { type: s.type } : {}),
              trace_id: toBigInt(s.trace_id),
              span_id: toBigInt(s.span_id),
              parent_id: toBigInt(s.parent_id ?? 0),
              error: Number(s.error ?? 0),
              duration_ns: Number(s.duration ?? 0),
              meta: (s.meta ?? {}) as Record<string, string>,
              metrics: Object.fromEntries(
                Object.entries((s.metrics ?? {}) as Record<string, unknown>).map(([k, v]) => [k, Number(v)]),
              ),
            })
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"rate_by_service":{}}')
        return
      }
      if (req.url === '/info') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ endpoints: ['/v0.4/traces'] }))
        return
      }
      res.writeHead(404).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const udp: Socket = createSocket('udp4')
  udp.on('message', (msg) => {
    const now = Date.now()
    for (const line of msg.toString('utf8').split('\n')) {
      if (line === '') continue
      const metric = parseDogStatsdLine(line, now)
      if (metric !== null) metrics.push(metric)
    }
  })
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve))
  return {
    traceUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    statsdPort: udp.address().port,
    spans,
    metrics,
    paths,
    close: async () => {
      server.closeAllConnections()
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => udp.close(() => resolve())),
      ])
    },
  }
}
