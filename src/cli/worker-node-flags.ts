/**
 * Node flags for open-model worker processes: a 64 MB young generation. At ~10,000 iterations/s the default
 * (16 MB) makes V8 scavenge every ~130 ms with 5–10 ms pauses, which showed up as start jitter (p99 17–23 ms
 * in bench/worker-harness.mjs open 10000); with 64 MB it is 3–5 ms. It costs memory (50,000 idle users:
 * 324 MB RSS instead of 217 MB), so closed-model workers keep V8's default. V8 reads this flag only at start:
 * `horde run` passes it to its local workers in the open model; elsewhere set
 * NODE_OPTIONS=--max-semi-space-size=64 on workers that run high rates.
 */
export const OPEN_MODEL_NODE_FLAGS = ['--max-semi-space-size=64']
