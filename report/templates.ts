import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import Handlebars from 'handlebars'
import { inlineAssets, templatesDir } from './assets.js'
import { inlineScript, inlineStyle } from './safe-json.js'

/**
 * One private Handlebars environment (no global helpers leak in or out), templates compiled once per
 * process. `{{ }}` escapes HTML; `{{{ }}}` is used only for the inlined assets, the safe-JSON data block and
 * SVG drawn from numbers.
 */
const hb = Handlebars.create()
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b)

const compiled = new Map<string, Handlebars.TemplateDelegate>()
const OPTIONS = { strict: false, preventIndent: true } as const

/**
 * The sections the final report and the live dashboard share (templates/partials/<name>.hbs): one markup
 * for both, so the live view cannot drift from the report.
 */
export type SectionName =
  'kpis' | 'thresholds' | 'charts' | 'endpoints' | 'errors' | 'workers' | 'events' | 'live-status'

let partialsRegistered = false
function registerPartials(): void {
  if (partialsRegistered) return
  const dir = join(templatesDir(), 'partials')
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.hbs'))) {
    // Compiled here: a partial registered as text is compiled again on every render that uses it.
    hb.registerPartial(
      file.slice(0, -'.hbs'.length),
      hb.compile(readFileSync(join(dir, file), 'utf8'), OPTIONS),
    )
  }
  partialsRegistered = true
}

function template(name: string): Handlebars.TemplateDelegate {
  registerPartials()
  let t = compiled.get(name)
  if (t === undefined) {
    t = hb.compile(readFileSync(join(templatesDir(), `${name}.hbs`), 'utf8'), OPTIONS)
    compiled.set(name, t)
  }
  return t
}

/** One shared section alone, for the dashboard's live updates. No assets: the page already has them. */
export function renderSection(name: SectionName, view: object): string {
  return template(`partials/${name}`)(view)
}

export function renderTemplate(
  name: 'report' | 'dashboard' | 'scenario-index' | 'root-index',
  view: object,
): string {
  const a = inlineAssets()
  return template(name)({
    ...view,
    chartCss: inlineStyle(a.chartCss),
    reportCss: inlineStyle(a.reportCss),
    chartJs: inlineScript(a.chartJs),
    reportJs: inlineScript(a.reportJs),
    indexJs: inlineScript(a.indexJs),
    tableSortJs: inlineScript(a.tableSortJs),
    chartsJs: inlineScript(a.chartsJs),
    dashboardJs: inlineScript(a.dashboardJs),
  })
}
