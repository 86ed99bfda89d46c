import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The report is built from files that ship with the package (templates) or sit in node_modules (the chart
 * library). Both are located at runtime, because this module runs from report/ under tsx and from
 * dist/report/ once compiled: walk up to the directory that holds our package.json.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'package.json')
    if (existsSync(candidate) && existsSync(join(dir, 'report', 'templates'))) return dir
    const parent = dirname(dir)
    if (parent === dir)
      throw new Error('horde: cannot find the package root (report/templates) above ' + import.meta.url)
    dir = parent
  }
}

export function templatesDir(): string {
  return join(packageRoot(), 'report', 'templates')
}

export interface InlineAssets {
  chartJs: string
  chartCss: string
  reportCss: string
  reportJs: string
  indexJs: string
  tableSortJs: string
  /** The uPlot charts, shared by the report and the live dashboard. */
  chartsJs: string
  dashboardJs: string
}

let cached: InlineAssets | undefined

/** Reads every file that gets inlined into a report once per process; a render must not touch the disk. */
export function inlineAssets(): InlineAssets {
  if (cached !== undefined) return cached
  const require = createRequire(join(packageRoot(), 'package.json'))
  const uplotDist = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'))
  const dir = templatesDir()
  cached = {
    chartJs: readFileSync(join(uplotDist, 'uPlot.iife.min.js'), 'utf8'),
    chartCss: readFileSync(join(uplotDist, 'uPlot.min.css'), 'utf8'),
    reportCss: readFileSync(join(dir, 'report.css'), 'utf8'),
    reportJs: readFileSync(join(dir, 'report-client.js'), 'utf8'),
    indexJs: readFileSync(join(dir, 'index-client.js'), 'utf8'),
    tableSortJs: readFileSync(join(dir, 'table-sort.js'), 'utf8'),
    chartsJs: readFileSync(join(dir, 'charts.js'), 'utf8'),
    dashboardJs: readFileSync(join(dir, 'dashboard-client.js'), 'utf8'),
  }
  return cached
}
