// Loaded with NODE_OPTIONS=--import into every process of a run: at exit it writes which dd-trace files the
// process had loaded (CommonJS modules, as dd-trace is, land in the one module cache whether required or
// imported), so a test can show that tracing off never loads dd-trace.
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const dir = process.env.HORDE_TEST_PROBE_DIR
if (dir) {
  process.on('exit', () => {
    const loaded = Object.keys(require.cache).filter((file) => file.includes('/node_modules/dd-trace/'))
    writeFileSync(
      join(dir, `probe-${process.pid}.json`),
      JSON.stringify({ argv: process.argv.slice(2), ddTraceFiles: loaded.length }),
    )
  })
}
