import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../helpers/processes.js'

/**
 * Imports go one way: cli → master / worker / report → protocol → shared (k8s sits with the cli). A small walk over
 * the import graph of src/ and report/ (static and dynamic relative imports), so the rule stays true.
 */
const LAYERS: Record<string, readonly string[]> = {
  'src/shared': [],
  'src/protocol': ['src/shared'],
  'src/worker': ['src/protocol', 'src/shared'],
  'src/master': ['src/protocol', 'src/shared'],
  report: ['src/shared'],
  'src/k8s': ['src/shared'],
  'src/cli': ['src/master', 'src/worker', 'src/protocol', 'src/shared', 'src/k8s', 'report'],
}
const IMPORT =
  /(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`
    if (entry.isDirectory()) return sourceFiles(path)
    return /\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

function layerOf(file: string): string | undefined {
  return Object.keys(LAYERS)
    .filter((layer) => file.startsWith(`${layer}/`))
    .sort((a, b) => b.length - a.length)[0]
}

/** The project files one file imports (relative specifiers; .js resolved to the .ts source). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8')
  const targets: string[] = []
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2]
    if (specifier === undefined) continue
    const absolute = resolve(REPO_ROOT, dirname(file), specifier)
    targets.push(relative(REPO_ROOT, absolute).replace(/\.js$/, '.ts'))
  }
  return targets
}

/** file → the project files it imports, over src/ and report/. */
function importGraph(): Map<string, string[]> {
  return new Map([...sourceFiles('src'), ...sourceFiles('report')].map((file) => [file, importsOf(file)]))
}

describe('the import graph', () => {
  const graph = importGraph()

  it('finds the files it checks', () => {
    expect(graph.get('src/cli/main.ts')).toBeDefined()
    expect(graph.get('src/master/coordinator.ts')?.length).toBeGreaterThan(5)
  })

  it('points one way: cli → master/worker/report → protocol → shared', () => {
    const wrong: string[] = []
    for (const [file, targets] of graph) {
      const from = layerOf(file)
      if (from === undefined) continue
      for (const target of targets) {
        const to = layerOf(target)
        if (to === undefined || to === from) continue
        if (!(LAYERS[from] ?? []).includes(to)) wrong.push(`${file} → ${target}`)
      }
    }
    expect(wrong).toEqual([])
  })

  it('has no cycles', () => {
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const stack: string[] = []
    const visit = (file: string): void => {
      state.set(file, 'open')
      stack.push(file)
      for (const target of graph.get(file) ?? []) {
        if (!graph.has(target)) continue
        if (state.get(target) === 'open')
          cycles.push([...stack.slice(stack.indexOf(target)), target].join(' → '))
        else if (state.get(target) === undefined) visit(target)
      }
      stack.pop()
      state.set(file, 'done')
    }
    for (const file of graph.keys()) if (state.get(file) === undefined) visit(file)
    expect(cycles).toEqual([])
  })

  it('lets nothing outside report/ import a report/ module other than its one entry, report/index.ts', () => {
    // Consumers: the CLI and the rest of src/, the actions and bench/ (test/report unit-tests report's own files).
    const consumers = [...sourceFiles('src'), ...sourceFiles('actions'), ...sourceFiles('bench')]
    const wrong: string[] = []
    for (const file of consumers) {
      for (const target of importsOf(file)) {
        if (target.startsWith('report/') && target !== 'report/index.ts') wrong.push(`${file} → ${target}`)
      }
    }
    expect(consumers.some((file) => importsOf(file).includes('report/index.ts'))).toBe(true)
    expect(wrong).toEqual([])
  })

  it('lets nothing the CLI reaches import a dev dependency statically (the image has none)', () => {
    // The production image prunes devDependencies: a static import of one anywhere the CLI reaches (through
    // report/index.ts, say) crashes `horde master` in the pod. Action-only packages are loaded on first use.
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>
    }
    const devOnly = new Set(Object.keys(pkg.devDependencies))
    const reached = new Set<string>()
    const visit = (file: string): void => {
      if (reached.has(file) || !graph.has(file)) return
      reached.add(file)
      for (const target of graph.get(file) ?? []) visit(target)
    }
    visit('src/cli/main.ts')
    const wrong: string[] = []
    for (const file of reached) {
      const text = readFileSync(join(REPO_ROOT, file), 'utf8')
      for (const match of text.matchAll(/^import\s(?!type\s)[^'"]*?from\s+'((?:@[^/']+\/)?[^/'.][^/']*)/gm)) {
        if (match[1] !== undefined && devOnly.has(match[1])) wrong.push(`${file} → ${match[1]}`)
      }
    }
    expect(reached.has('report/slack-client.ts')).toBe(true)
    expect(wrong).toEqual([])
  })

  it('keeps report/render.ts and report/publish.ts apart: publish uses render, never the other way round', () => {
    expect(graph.get('report/render.ts')).not.toContain('report/publish.ts')
  })
})
