// Preloaded into the master by the benches (node --import): the master's event-loop delay, sampled by Node's
// own histogram at 10 ms resolution, written as JSON to $BENCH_LOOP_PROBE_OUT when the process exits. Node's
// histogram records the whole interval between its timer's runs (an idle process: ~10.2 ms), so the probe
// reports lateness, that interval less the 10 ms: a loop turn that runs T ms makes the timer up to T ms late,
// so the p99 and max bound the master's turns. (Figures in bench/README.md before 2026-12-07 are intervals,
// 10 ms more than the lateness.) For every
// stall over 100 ms it also records the CPU the process used meanwhile: a stall with little CPU is the process
// waiting for a core (a busy machine) or in a blocking call, not a long turn of our own JavaScript.
//
// The probe must not be what it measures. The delay histogram is native (a libuv timer, no JavaScript). The
// stall watch is a JavaScript timer: at 100 Hz with process.cpuUsage() it cost ~2 % of a core in the master's
// profile; it now runs at 20 Hz. Measured on an idle Node process over 20 s (bench/README.md): the whole probe
// ~0.5 % of a core, the old one ~1 %. Stalls of 60-100 ms still show in the histogram (p99, max), only without
// their CPU.
import { writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const out = process.env.BENCH_LOOP_PROBE_OUT
const RESOLUTION_MS = 10
const WATCH_MS = 50
const STALL_MS = 100
const LATE_MS = 20
if (out) {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  delay.enable()
  const stalls = []
  const late = []
  const startedAt = performance.now()
  let lastAt = startedAt
  let lastCpu = process.cpuUsage()
  let ownMs = 0
  setInterval(() => {
    const now = performance.now()
    const gapMs = now - lastAt
    // A turn of over 20 ms (the master's promise) that this timer happened to wait behind: when, to tell
    // start-up and the end of the run from the load itself.
    if (gapMs > WATCH_MS + LATE_MS) late.push([Math.round(now / 100) / 10, Math.round(gapMs - WATCH_MS)])
    if (gapMs > STALL_MS) {
      const cpu = process.cpuUsage()
      const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000
      stalls.push({ gapMs: Math.round(gapMs), cpuMs: Math.round(cpuMs), atS: Math.round(now / 100) / 10 })
    }
    // The CPU baseline for the next stall; read every time, it is the one costly call here.
    lastCpu = process.cpuUsage()
    lastAt = performance.now()
    ownMs += lastAt - now
  }, WATCH_MS).unref()
  process.on('exit', () => {
    const ms = (ns) => Math.round((ns / 1e6) * 10) / 10
    const lateMs = (ns) => Math.max(0, ms(ns - RESOLUTION_MS * 1e6))
    stalls.sort((a, b) => b.gapMs - a.gapMs)
    const wallMs = performance.now() - startedAt
    writeFileSync(
      out,
      JSON.stringify({
        p50Ms: lateMs(delay.percentile(50)),
        p99Ms: lateMs(delay.percentile(99)),
        p999Ms: lateMs(delay.percentile(99.9)),
        maxMs: lateMs(delay.max),
        samples: delay.count,
        stallsOver100Ms: stalls.length,
        longestStalls: stalls.slice(0, 5),
        // Turns where our own code ran long: the stall's CPU time is most of its length.
        // The 20 Hz watch timer late by over 20 ms: how many times, and when and by how much ([s since start,
        // ms late], first 30).
        watchLateOver20Ms: late.length,
        watchLateOver20MsAtS: late.slice(0, 30),
        cpuBoundStallsOver100Ms: stalls.filter((s) => s.cpuMs > 50 && s.cpuMs > s.gapMs * 0.5).length,
        // Wall time inside the stall watch (wake-ups not included), % of one core: an upper bound of its CPU,
        // inflated on a loaded machine, where the process is preempted inside the callback too.
        probeCallbackWallPercent: Math.round((ownMs / wallMs) * 1000) / 10,
      }),
    )
  })
}
