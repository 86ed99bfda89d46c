import { readFileSync } from 'node:fs'
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

function template(name: string): Handlebars.TemplateDelegate {
  let t = compiled.get(name)
  if (t === undefined) {
    t = hb.compile(readFileSync(join(templatesDir(), `${name}.hbs`), 'utf8'), {
      strict: false,
      preventIndent: true,
    })
    compiled.set(name, t)
  }
  return t
}

export function renderTemplate(name: 'report' | 'scenario-index' | 'root-index', view: object): string {
  const a = inlineAssets()
  return template(name)({
    ...view,
    chartCss: inlineStyle(a.chartCss),
    reportCss: inlineStyle(a.reportCss),
    chartJs: inlineScript(a.chartJs),
    reportJs: inlineScript(a.reportJs),
    indexJs: inlineScript(a.indexJs),
    tableSortJs: inlineScript(a.tableSortJs),
  })
}
