/**
 * Node flags for worker processes. A 64 MB young generation: at ~10,000 requests/s the default (16 MB) makes
 * V8 scavenge every ~130 ms with 5–10 ms pauses, which showed up as open-model start jitter (p99 4–10 ms,
 * measured with bench/worker-harness.mjs open 10000); with 64 MB the p99 is ~1.1 ms. V8 reads this flag
 * only at start, so it cannot be set from inside the process: `horde run` passes it to its local workers,
 * the bin's shebang passes it when horde is run directly, and NODE_OPTIONS can carry it in containers.
 */
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=64']
