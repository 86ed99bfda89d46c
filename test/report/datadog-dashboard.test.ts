import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MASTER_METRICS } from '../../src/master/live-metrics.js'
import { WORKER_METRICS } from '../../src/worker/worker-datadog.js'
import { REPO_ROOT } from '../helpers/processes.js'

const DIR = join(REPO_ROOT, 'manifests/datadog')
const SENT = new Set<string>([...Object.values(MASTER_METRICS), ...Object.values(WORKER_METRICS)])

interface Widget {
  definition: { type: string; title: string; query?: string; requests?: Array<{ q: string }> }
}

describe('the shipped Datadog dashboard and monitor read what Horde sends', () => {
  const dashboard = JSON.parse(readFileSync(join(DIR, 'dashboard.json'), 'utf8')) as {
    title: string
    layout_type: string
    template_variables: Array<{ name: string; prefix: string }>
    widgets: Widget[]
  }

  it('has the run_id template variable the links set (tpl_var_run_id), on the tag the metrics carry', () => {
    expect(dashboard.layout_type).toBe('ordered')
    expect(dashboard.template_variables).toContainEqual(
      expect.objectContaining({ name: 'run_id', prefix: 'run_id' }),
    )
  })

  it('every metric query names a metric Horde sends and is scoped to the chosen run', () => {
    const queries = dashboard.widgets.flatMap((w) => (w.definition.requests ?? []).map((r) => r.q))
    expect(queries.length).toBeGreaterThanOrEqual(8)
    const used = new Set<string>()
    for (const q of queries) {
      const metric = /^[a-z]+:([a-z0-9_.]+)\{/.exec(q)?.[1] ?? ''
      expect(SENT, `${q} reads a metric Horde never sends`).toContain(metric)
      expect(q).toContain('$run_id')
      used.add(metric)
    }
    // Every metric Horde sends is on the dashboard.
    expect([...SENT].filter((m) => !used.has(m))).toEqual([])
    const logs = dashboard.widgets.find((w) => w.definition.type === 'log_stream')
    // The JSON logger's base field (src/shared/logger.ts) is runId.
    expect(logs?.definition.query).toBe('@runId:$run_id.value')
  })

  it('the monitor example alerts on metrics Horde sends, grouped by run', () => {
    const monitor = JSON.parse(readFileSync(join(DIR, 'monitor-failure-rate.json'), 'utf8')) as {
      type: string
      query: string
    }
    expect(monitor.type).toBe('query alert')
    const metrics = [...monitor.query.matchAll(/:(horde\.[a-z0-9_.]+)\{/g)].map((m) => m[1])
    expect(metrics).toEqual([MASTER_METRICS.failuresPerSec, MASTER_METRICS.rps])
    expect(monitor.query).toContain('by {run_id,scenario}')
  })
})
