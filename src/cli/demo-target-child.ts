/**
 * Entry point of the demo app's own process (see demo-target-process.ts): starts the vote app, says where it
 * listens over IPC, and on `close` reports the requests it served, then exits.
 */
import { startDemoTarget, type DemoTargetOptions } from './demo-target.js'

const options = JSON.parse(process.argv[2] ?? '{}') as DemoTargetOptions
const target = await startDemoTarget(options)
process.send?.({ type: 'listening', url: target.url })
process.on('message', (message: { type?: string }) => {
  if (message.type !== 'close') return
  void target.close().then(() => {
    process.send?.({ type: 'served', total: target.servedTotal() }, () => process.disconnect())
  })
})
// The parent went away without asking (killed): do not outlive it.
process.on('disconnect', () => void target.close())
