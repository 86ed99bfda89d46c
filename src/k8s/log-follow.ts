import { setTimeout as sleep } from 'node:timers/promises'
import type { KubeClient } from './kube-client.js'

/**
 * Follows one container's log for the whole run, re-opening the stream when it drops before the container
 * ends (an API server restart, a load balancer's idle timeout, a kubelet connection reset). The log is asked
 * for with the kubelet's timestamps; a re-open asks from the last line's second (`sinceTime` has whole
 * seconds) and drops every line already printed, so no progress line shows twice. Re-opens are bounded: many
 * failures in a row with no new line end the follow with a warning (the run itself goes on regardless).
 */
export interface FollowLogOptions {
  client: KubeClient
  namespace: string
  pod: string
  container: string
  onLine: (line: string) => void
  warn: (text: string) => void
  /** True once the container has terminated: a stream that ends then has said everything. */
  containerEnded: () => Promise<boolean>
  signal: AbortSignal
  /** Failed re-opens in a row before giving up (default 8). */
  maxFailures?: number
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/

/** RFC 3339 (nano) → nanoseconds since the epoch, exact; null when it is not a timestamp. */
export function timestampNs(text: string): bigint | null {
  const m = TIMESTAMP.exec(text)
  if (m === null) return null
  const ms = Date.parse(`${m[1]}${m[3]}`)
  if (Number.isNaN(ms)) return null
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'))
}

/** The whole second a nanosecond time falls in, as `sinceTime` wants it. */
const sinceTimeOf = (ns: bigint): string =>
  new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().replace(/\.\d+Z$/, 'Z')

export async function followLog(o: FollowLogOptions): Promise<void> {
  const maxFailures = o.maxFailures ?? 8
  let lastNs: bigint | null = null
  // Lines printed with exactly lastNs (two lines can share a timestamp): a re-open skips that many of them.
  let printedAtLast = 0
  let failures = 0
  for (;;) {
    let replayedAtLast = 0
    let fresh = false
    const onRaw = (raw: string): void => {
      const space = raw.indexOf(' ')
      const ns = space > 0 ? timestampNs(raw.slice(0, space)) : null
      if (ns === null) return o.onLine(raw)
      if (lastNs !== null && ns < lastNs) return
      if (lastNs !== null && ns === lastNs) {
        if (++replayedAtLast <= printedAtLast) return
        printedAtLast = replayedAtLast
      } else {
        lastNs = ns
        printedAtLast = replayedAtLast = 1
      }
      fresh = true
      o.onLine(raw.slice(space + 1))
    }
    let failure: string | null = null
    try {
      await o.client.followLogs(o.namespace, o.pod, o.container, onRaw, o.signal, {
        timestamps: true,
        ...(lastNs === null ? {} : { sinceTime: sinceTimeOf(lastNs) }),
      })
    } catch (error) {
      failure = (error as Error).message
    }
    if (o.signal.aborted) return
    // A clean end because the container ended is the normal end; after a failure, one more (bounded) read
    // collects whatever the drop cut off.
    if (failure === null && (await o.containerEnded().catch(() => false))) return
    if (o.signal.aborted) return
    failures = fresh ? 1 : failures + 1
    if (failures > maxFailures) {
      o.warn(
        `the log stream of ${o.pod} dropped ${maxFailures} times in a row; no more progress lines from it`,
      )
      return
    }
    const from = lastNs === null ? 'the start' : sinceTimeOf(lastNs)
    o.warn(
      `the log stream of ${o.pod} ended while it runs (${failure ?? 'closed by the server'}); re-opening from ${from}, lines already shown are skipped`,
    )
    await sleep(Math.min(5000, 250 * 2 ** (failures - 1)), undefined, { signal: o.signal }).catch(
      () => undefined,
    )
    if (o.signal.aborted) return
  }
}
