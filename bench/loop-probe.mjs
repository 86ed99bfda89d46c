// Preloaded into the master by bench/master-bench.ts (node --import): the master's event-loop delay, sampled
// by Node's own histogram at 10 ms resolution, written as JSON to $BENCH_LOOP_PROBE_OUT when the process exits.
// A loop turn that runs T ms shows as a delay of about T ms, so the p99 and max bound the master's turns.
import { writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const out = process.env.BENCH_LOOP_PROBE_OUT
if (out) {
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  process.on('exit', () => {
    const ms = (ns) => Math.round((ns / 1e6) * 10) / 10
    writeFileSync(
      out,
      JSON.stringify({
        p50Ms: ms(delay.percentile(50)),
        p99Ms: ms(delay.percentile(99)),
        maxMs: ms(delay.max),
        samples: delay.count,
      }),
    )
  })
}
