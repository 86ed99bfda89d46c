import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { boundedJobSummary, formatObserved, openStore, parseRunResult, slug } from '../../report/index.js'
import type { RunResult } from '../../src/shared/result.js'
import { shortSummary, type Outcome } from './outcome.js'

/**
 * What the step leaves for people and later steps: the run's result.json and report fetched from the store
 * the master wrote them to (into horde-results/<run-id>/, for an artifact and the notify step), the job
 * summary (the report's Markdown headline, kept under GitHub's 1 MiB) and one error annotation per failed
 * threshold or invalid reason.
 */
export interface Published {
  resultPath: string | null
  summary: string
  annotations: Array<{ title: string; text: string }>
}

export async function publishOutcome(o: {
  outcome: Outcome
  runId: string
  scenario: string
  reportStore: string | null
  outDir: string
  warn: (line: string) => void
}): Promise<Published> {
  const { outcome } = o
  let result: RunResult | null = null
  let resultPath: string | null = null
  if (o.reportStore !== null && outcome.scenario !== null) {
    const dir = `${slug(outcome.scenario)}/${o.runId}`
    try {
      const store = openStore(o.reportStore)
      const body = await store.get(`${dir}/result.json`)
      if (body === null) o.warn(`no result.json at ${o.reportStore}/${dir}/ (the master could not store it?)`)
      else {
        result = parseRunResult(body.toString('utf8'), `${o.reportStore}/${dir}/result.json`)
        await mkdir(o.outDir, { recursive: true })
        resultPath = join(o.outDir, 'result.json')
        await writeFile(resultPath, body)
        const html = await store.get(`${dir}/index.html`).catch(() => null)
        if (html !== null) await writeFile(join(o.outDir, 'index.html'), html)
      }
    } catch (error) {
      o.warn(`could not fetch the run's result from ${o.reportStore}: ${(error as Error).message}`)
    }
  }
  const annotations: Published['annotations'] = []
  if (result !== null)
    for (const t of result.thresholds.filter((x) => !x.ok))
      annotations.push({
        title: `Threshold failed: ${t.metric}`,
        text: `${t.metric} ${t.expression}: observed ${formatObserved(t.metric, t.expression, t.observed)} (run ${o.runId})`,
      })
  else if (outcome.verdict === 'fail')
    for (const r of outcome.reasons) annotations.push({ title: 'Threshold failed', text: r })
  if (outcome.verdict === 'invalid')
    for (const r of outcome.reasons) annotations.push({ title: 'Run invalid', text: r })
  const summary =
    result !== null && outcome.verdict === result.verdict
      ? boundedJobSummary(result, outcome.reportUrl === null ? {} : { reportUrl: outcome.reportUrl })
      : shortSummary(outcome, o.scenario, o.runId)
  return { resultPath, summary, annotations: annotations.slice(0, 10) }
}
