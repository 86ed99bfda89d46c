import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The scenario templates that ship with Horde: every `templates/<kind>.ts`, found at run time so that a
 * template another change adds (a database test, say) is listed without touching this code. A template's
 * description is the first line of its leading comment; its team overlay, when it has one, is
 * `manifests/overlays/<kind>/`.
 */
export interface TemplateInfo {
  kind: string
  description: string
  file: string
  /** The overlay folder, or null when the template needs none. */
  overlayDir: string | null
}

/** The folder holding package.json and templates/: src/cli under tsx, dist/src/cli once built. */
export function hordeRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates'))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`horde: cannot find the templates folder above ${import.meta.url}`)
    dir = parent
  }
}

/** The first text line of a leading block or line comment; '' when the file has none. */
export function templateDescription(source: string): string {
  const header = /^\s*(?:\/\*\*?([\s\S]*?)\*\/|((?:\s*\/\/.*\n?)+))/.exec(source)
  if (header === null) return ''
  const lines = (header[1] ?? header[2] ?? '')
    .split('\n')
    .map((line) => line.replace(/^\s*(\*|\/\/)\s?/, '').trim())
    .filter((line) => line !== '')
  return lines[0] ?? ''
}

export function listTemplates(root = hordeRoot()): TemplateInfo[] {
  const dir = join(root, 'templates')
  return readdirSync(dir)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .sort()
    .map((name) => {
      const kind = name.slice(0, -'.ts'.length)
      const file = join(dir, name)
      const overlay = join(root, 'manifests', 'overlays', kind)
      return {
        kind,
        description: templateDescription(readFileSync(file, 'utf8')),
        file,
        overlayDir: existsSync(join(overlay, 'kustomization.yaml')) ? overlay : null,
      }
    })
}
