// Runs firebase-tools' Storage emulator in-process with its Java rules runtime stubbed out: the GCS JSON API
// routes (/storage/v1, /upload/storage/v1, /download/storage/v1) never evaluate security rules, and the
// runtime would otherwise be downloaded from the internet. Internal APIs: the version is pinned in
// scripts/install-firebase-tools.sh. argv: <firebase-tools dir> <port>. Prints "ready <port>" when listening.
'use strict'
const path = require('node:path')
const [dir, portText] = process.argv.slice(2)
const lib = (p) => require(path.join(dir, 'node_modules', 'firebase-tools', 'lib', p))
const { StorageEmulator } = lib('emulator/storage')
const { EmulatorRegistry } = lib('emulator/registry')

async function main() {
  const port = Number(portText)
  const emu = new StorageEmulator({
    projectId: 'demo-horde',
    host: '127.0.0.1',
    port,
    rules: { name: 'unused', content: '' },
    auto_download: false,
  })
  emu._rulesRuntime.start = async () => {}
  emu._rulesRuntime.stop = async () => {}
  emu._rulesManager.start = async () => []
  emu._rulesManager.stop = async () => {}
  await EmulatorRegistry.start(emu)
  process.stdout.write(`ready ${port}\n`)
  const stop = () => {
    setTimeout(() => process.exit(0), 2000).unref()
    EmulatorRegistry.stopAll().finally(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`)
  process.exit(1)
})
