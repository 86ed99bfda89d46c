import { defineConfig } from 'vitest/config'

// Tests start real servers and real Locust processes: run files one at a time so that load tests do not
// share the two cores with each other and timing assertions stay honest.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The JSON file lets .ci/run end with a plain "N passed, N failed" line any CI log reader understands.
    reporters: ['default', 'json'],
    outputFile: { json: '.tmp/vitest-results.json' },
  },
})
