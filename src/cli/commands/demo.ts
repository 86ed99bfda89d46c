import { fileURLToPath } from 'node:url'
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { ExitCode } from '../../shared/errors.js'
import { startDemoTargetProcess } from '../demo-target-process.js'
import { runCommand } from './run.js'

const HELP = `Usage: horde demo [--out DIR] [--duration D]

Starts the bundled vote app on loopback (GET /results, POST /vote), runs scenarios/demo.ts against it with
2 local workers for about 20 s, writes result.json and CSVs, and prints where they are. Works offline.`

function demoScenario(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'scenarios', 'demo.ts')
    if (existsSync(candidate)) return candidate
    dir = dirname(dir)
  }
  throw new Error('scenarios/demo.ts not found next to the horde package')
}

export async function demoCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HELP}\n`)
    return ExitCode.pass
  }
  // The app runs in its own process, so the charts show the app, not the master's loop pauses.
  const target = await startDemoTargetProcess({ delayMs: { min: 2, max: 25 } })
  process.stdout.write(`horde demo: vote app listening on ${target.url} (its own process)\n`)
  let served: number | null = null
  try {
    const code = await runCommand([
      demoScenario(),
      '--host',
      target.url,
      '--users',
      '20',
      '--spawn-rate',
      '10',
      '--duration',
      '20s',
      '--warmup',
      '3s',
      '--workers',
      '2',
      ...argv,
    ])
    served = await target.close()
    process.stdout.write(`horde demo: the vote app served ${served} requests\n`)
    return code
  } finally {
    if (served === null) await target.close()
  }
}
