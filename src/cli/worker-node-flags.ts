/**
 * Node flags for open-model worker processes, where the start schedule's jitter matters:
 * - a 64 MB young generation: at ~10,000 iterations/s the default (16 MB) makes V8 scavenge every ~130 ms;
 *   in-flight requests outlive the cycle, get promoted and make old-generation collections frequent (start
 *   jitter p99 9–23 ms in bench/worker-harness.mjs open 10000; ~1.1 ms with 64 MB). It costs memory
 *   (50,000 idle users: 324 MB RSS instead of 217 MB), so closed-model workers keep V8's default.
 * - single-threaded GC: a worker has about one core; V8's parallel scavenger helpers only compete with the
 *   event loop for it (same bench, 7 runs each: jitter max 4–10 ms instead of 4–25 ms, p99 ≤ 1.16 ms
 *   instead of up to 1.86 ms).
 * V8 reads both only at start, and Node refuses the second in NODE_OPTIONS: `horde run` passes them to its
 * local workers in the open model; elsewhere start workers as `node <flags> horde worker ...`.
 */
export const OPEN_MODEL_NODE_FLAGS = ['--max-semi-space-size=64', '--single-threaded-gc']
