import { writeFile } from 'node:fs/promises'
import { ConfigError, ExitCode, describeValue } from '../../shared/errors.js'
import { parseDurationMs } from '../../shared/duration.js'
import { parseWholeNumber } from '../../shared/numbers.js'
import { openStore, publishRun, rebuildIndexes } from '../../../report/index.js'
import { parseFlags } from '../flags.js'

const HELP = `Usage: horde report <result.json> [options]

Renders the self-contained HTML report for a run (index.html beside result.json, or in --out), with the CSVs,
compared with the previous passing run of the same scenario.

Options:
  --out DIR               write the report here instead of beside result.json
  --store DIR|gs://B/P    put the run into a history store: <store>/<scenario>/<run-id>/, and rebuild
                          <store>/<scenario>/index.html and <store>/index.html (HORDE_REPORT_STORE)
  --baseline RUN_ID       compare with this stored run instead of the previous passing one
  --job-summary FILE      also write the Markdown job summary (e.g. "$GITHUB_STEP_SUMMARY")
  --signed-url DURATION   for gs:// stores, print a signed URL valid this long (e.g. 7d) instead of the public URL
  -h, --help              show this help

HORDE_GCS_RETRIES sets retries per GCS request (default 3).
Datadog log and trace links appear when HORDE_DATADOG_SITE (or DD_SITE) is set, scoped by DD_SERVICE/DD_ENV.
Exit codes: 0 written, 1 upload failed (everything kept on disk), 104 bad input.`

const INDEX_HELP = `Usage: horde index <DIR|gs://bucket/prefix>

Rebuilds every <scenario>/index.html and the top-level index.html of a report store from the stored
results (result.json, summary.json), e.g. after an index was lost or a run was deleted.`

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('report', argv, {
    out: { type: 'string' },
    store: { type: 'string' },
    baseline: { type: 'string' },
    'job-summary': { type: 'string' },
    'signed-url': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`)
    return ExitCode.pass
  }
  const [resultPath, ...extra] = positionals
  if (resultPath === undefined || extra.length > 0) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `horde report takes one result.json, received ${describeValue(positionals)}. Example: horde report horde-results/checkout/run-1/result.json --store gs://my-bucket/reports`,
    )
  }
  const str = (v: string | boolean | undefined): string | undefined =>
    typeof v === 'string' && v !== '' ? v : undefined
  const store = str(values.store) ?? str(process.env.HORDE_REPORT_STORE)
  const baseline = str(values.baseline)
  const signed = str(values['signed-url'])
  const signedUrlTtlMs = signed === undefined ? undefined : parseDurationMs(signed)
  if (signed !== undefined && (signedUrlTtlMs === undefined || signedUrlTtlMs <= 0)) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `--signed-url must be a duration such as '1h' or '7d', received ${describeValue(signed)}.`,
    )
  }
  if (signed !== undefined && !store?.startsWith('gs://')) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `--signed-url only applies to a gs:// store, received --store ${describeValue(store ?? null)}.`,
    )
  }
  const out = str(values.out)
  if (store !== undefined && out !== undefined && !store.startsWith('gs://')) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `--out and a folder --store both choose where the report goes; pass one of them (received --out ${describeValue(out)} --store ${describeValue(store)}).`,
    )
  }

  const retriesText = str(process.env.HORDE_GCS_RETRIES)
  const retries = retriesText === undefined ? undefined : parseWholeNumber(retriesText)
  if (retriesText !== undefined && retries === undefined) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `HORDE_GCS_RETRIES must be a whole number of retries, received ${describeValue(retriesText)}.`,
    )
  }

  const published = await publishRun(resultPath, {
    ...(store !== undefined ? { store } : {}),
    ...(out !== undefined ? { outDir: out } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
    ...(signedUrlTtlMs !== undefined ? { signedUrlTtlMs } : {}),
    ...(retries !== undefined ? { gcsRetries: retries } : {}),
    log: (line) => process.stderr.write(`horde report: ${line}\n`),
  })
  const lines = [`report: ${published.htmlPath}`]
  lines.push(
    published.baselineRunId === null
      ? 'baseline: none (no earlier passing run of this scenario)'
      : `baseline: ${published.baselineRunId}`,
  )
  if (published.uploaded) lines.push(`url: ${published.url}`)
  if (published.indexUrl !== null) lines.push(`index: ${published.indexUrl}`)
  process.stdout.write(`${lines.join('\n')}\n`)

  const summaryPath = str(values['job-summary'])
  if (summaryPath !== undefined) {
    await writeFile(summaryPath, `${published.jobSummary}\n`, { flag: 'a' })
  }

  if (published.uploadError !== null) {
    process.stderr.write(
      `horde report: upload to ${store ?? ''} failed: ${published.uploadError}\nhorde report: nothing is lost: the report, result.json and CSVs are in ${published.localDir}\n`,
    )
    // As for an --out that cannot be written: the store given cannot be used (credentials, bucket, network).
    return ExitCode.invalidInput
  }
  return ExitCode.pass
}

export async function indexCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('index', argv, { help: { type: 'boolean', short: 'h' } })
  if (values.help === true) {
    process.stdout.write(`${INDEX_HELP}\n`)
    return ExitCode.pass
  }
  const [base, ...extra] = positionals
  if (base === undefined || extra.length > 0) {
    throw new ConfigError(
      'HORDE_ERR_CLI_FLAG',
      `horde index takes one store (a folder or gs://bucket/prefix), received ${describeValue(positionals)}.`,
    )
  }
  const started = performance.now()
  const rebuilt = await rebuildIndexes(openStore(base), {
    repair: true,
    warn: (line) => process.stderr.write(`horde index: ${line}\n`),
  })
  process.stdout.write(
    `rebuilt ${rebuilt.written.length} index pages for ${rebuilt.scenarios} scenarios and ${rebuilt.runs} runs in ${Math.round(performance.now() - started)} ms\n`,
  )
  return ExitCode.pass
}
