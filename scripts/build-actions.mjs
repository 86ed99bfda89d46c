#!/usr/bin/env node
// Bundles every actions/<name>/main.ts into actions/<name>/dist/index.js: a JavaScript action runs straight
// from the checked-out repository, with no `npm ci`, so its dist/ must carry every dependency.
// Usage: node scripts/build-actions.mjs [outRoot]   (outRoot defaults to the repository; the stale-dist test
// passes a temporary folder and compares the two trees byte for byte).
import { build } from 'esbuild'
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const outRoot = resolve(process.argv[2] ?? root)

export function actionNames() {
  return readdirSync(join(root, 'actions'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'actions', d.name, 'main.ts')))
    .map((d) => d.name)
    .sort()
}

// report/ modules do nothing when imported but define things (a Handlebars environment, the GCS client): an
// action that takes only the Slack message from report/index.ts must not carry the HTML renderer and storage.
const reportIsSideEffectFree = {
  name: 'report-side-effect-free',
  setup(builder) {
    builder.onResolve({ filter: /^\./ }, async (args) => {
      if (args.pluginData?.inner === true) return undefined
      const resolved = await builder.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { inner: true },
      })
      const inReport = resolved.path.startsWith(join(root, 'report') + '/')
      return inReport && resolved.errors.length === 0 ? { ...resolved, sideEffects: false } : resolved
    })
  },
}

for (const name of actionNames()) {
  const outDir = join(outRoot, 'actions', name, 'dist')
  await rm(outDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })
  await build({
    absWorkingDir: root, // paths in the bundle's comments are relative to it: the same bytes from any folder
    entryPoints: [join('actions', name, 'main.ts')],
    outfile: join(outDir, 'index.js'),
    bundle: true,
    platform: 'node',
    // node24 on GitHub's runners, Node 20 here and on older self-hosted runners.
    target: 'node20',
    format: 'esm',
    // CommonJS dependencies (@slack/web-api, axios) call require() on Node built-ins: give the ESM bundle one.
    banner: {
      js: "import { createRequire as __hordeCreateRequire } from 'node:module'; const require = __hordeCreateRequire(import.meta.url);",
    },
    // tsx loads scenarios through a loader file it finds next to itself: it cannot be bundled. Actions that load
    // scenarios (run-load-test, validate-scenario) run after `npm ci` in the checkout, which provides it.
    external: ['tsx', 'tsx/*'],
    plugins: [reportIsSideEffectFree],
    legalComments: 'linked',
    logLevel: 'warning',
  })
  // dist/ is ESM whatever package.json is beside the action (a repository that vendors only actions/).
  await writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n')
}
