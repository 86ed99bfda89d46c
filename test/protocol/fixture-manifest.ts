/** Loads the golden payloads in test/fixtures/locust-* with their manifest (see test/fixtures/README.md). */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export interface FixtureEntry {
  file: string
  direction: 'w2m' | 'm2w'
  type: string
  nodeId: string
  /** Python's decoding of the data element, in the manifest's JSON rendering. */
  python: unknown
  /** The payload bytes. */
  bytes: Buffer
}

export const FIXTURE_SETS = ['locust-2.12.1', 'locust-latest'] as const
export type FixtureSet = (typeof FIXTURE_SETS)[number]

export function loadFixtures(set: FixtureSet): FixtureEntry[] {
  const dir = fileURLToPath(new URL(`../fixtures/${set}/`, import.meta.url))
  const manifest = JSON.parse(readFileSync(`${dir}manifest.json`, 'utf8')) as {
    messages: Omit<FixtureEntry, 'bytes'>[]
  }
  return manifest.messages.map((entry) => ({ ...entry, bytes: readFileSync(dir + entry.file) }))
}

export function loadFixture(set: FixtureSet, file: string): FixtureEntry {
  const entry = loadFixtures(set).find((candidate) => candidate.file === file)
  if (!entry) throw new Error(`no fixture ${file} in ${set}`)
  return entry
}

/** A manifest `{"__pairs__": [[key, value, keyType]]}` rendering → its keys and values. */
export function pythonPairs(view: unknown): { entries: [number, number][]; keyTypes: string[] } {
  const pairs = (view as { __pairs__?: [number, number, string][] }).__pairs__
  if (!pairs) return { entries: [], keyTypes: [] } // {} renders as a plain object
  return { entries: pairs.map(([key, value]) => [key, value]), keyTypes: pairs.map(([, , type]) => type) }
}

/** Unwraps `{"__float__": x}` to x. */
export function pythonNumber(view: unknown): number | null {
  if (view === null) return null
  if (typeof view === 'number') return view
  return (view as { __float__: number }).__float__
}
