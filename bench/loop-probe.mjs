// Preloaded into the master by the benches (node --import): the master's event-loop delay, sampled by Node's
// own histogram at 10 ms resolution, written as JSON to $BENCH_LOOP_PROBE_OUT when the process exits. A loop
// turn that runs T ms shows as a delay of about T ms, so the p99 and max bound the master's turns. For every
// stall over 50 ms it also records the CPU the process used meanwhile: a stall with little CPU is the process
// waiting for a core (a busy machine) or in a blocking call, not a long turn of our own JavaScript.
import { writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const out = process.env.BENCH_LOOP_PROBE_OUT
if (out) {
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  const stalls = []
  let lastAt = performance.now()
  let lastCpu = process.cpuUsage()
  setInterval(() => {
    const now = performance.now()
    const cpu = process.cpuUsage()
    const gapMs = now - lastAt
    if (gapMs > 60) {
      const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000
      stalls.push({ gapMs: Math.round(gapMs), cpuMs: Math.round(cpuMs), atS: Math.round(now / 100) / 10 })
    }
    lastAt = now
    lastCpu = cpu
  }, 10).unref()
  process.on('exit', () => {
    const ms = (ns) => Math.round((ns / 1e6) * 10) / 10
    stalls.sort((a, b) => b.gapMs - a.gapMs)
    writeFileSync(
      out,
      JSON.stringify({
        p50Ms: ms(delay.percentile(50)),
        p99Ms: ms(delay.percentile(99)),
        maxMs: ms(delay.max),
        samples: delay.count,
        stallsOver60Ms: stalls.length,
        longestStalls: stalls.slice(0, 5),
        // Turns where our own code ran long: the stall's CPU time is most of its length.
        cpuBoundStallsOver50Ms: stalls.filter((s) => s.cpuMs > 50 && s.cpuMs > s.gapMs * 0.5).length,
      }),
    )
  })
}
