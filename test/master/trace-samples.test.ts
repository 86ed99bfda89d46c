import { describe, expect, it } from 'vitest'
import { TraceSampleBook } from '../../src/master/trace-samples.js'
import { TRACE_SAMPLES_KEY, encodeTraceSamples } from '../../src/protocol/trace-samples.js'
import { TraceSampleCollector } from '../../src/worker/tracing/trace-sample-collector.js'

const sample = (name: string, traceId: string, durationMs: number, failed = false) => ({
  method: 'GET',
  name,
  traceId,
  durationMs,
  failed,
})

describe('trace samples: a few trace ids per endpoint, from worker to result.json', () => {
  it('the worker keeps the 3 slowest and the first 3 failed per endpoint until its next report', () => {
    const collector = new TraceSampleCollector()
    for (let i = 1; i <= 10; i++) collector.add(sample('/a', String(i), i))
    for (let i = 11; i <= 15; i++) collector.add(sample('/a', String(i), 1, true))
    const taken = collector.take()
    expect(taken.filter((s) => !s.failed).map((s) => s.traceId)).toEqual(['10', '9', '8'])
    expect(taken.filter((s) => s.failed).map((s) => s.traceId)).toEqual(['11', '12', '13'])
    expect(collector.take()).toEqual([])
  })

  it('the master merges reports into the slowest overall, and drops a malformed list whole', () => {
    const book = new TraceSampleBook()
    book.add({ [TRACE_SAMPLES_KEY]: encodeTraceSamples([sample('/a', '1', 5), sample('/a', '2', 50)]) })
    book.add({ [TRACE_SAMPLES_KEY]: encodeTraceSamples([sample('/a', '3', 30), sample('/a', '4', 40)]) })
    book.add({ [TRACE_SAMPLES_KEY]: encodeTraceSamples([sample('/a', '5', 1, true)]) })
    // Hostile or broken peers: a non-numeric id (it goes into a URL), a wrong shape, too many entries.
    book.add({ [TRACE_SAMPLES_KEY]: [['GET', '/a', '../../x', 999, 0]] })
    book.add({ [TRACE_SAMPLES_KEY]: 'nope' })
    book.add({ [TRACE_SAMPLES_KEY]: Array.from({ length: 601 }, (_, i) => ['GET', '/b', String(i), 1, 0]) })
    book.add({})
    expect(book.toResult()).toEqual({
      'GET /a': {
        slowest: [
          { traceId: '2', durationMs: 50 },
          { traceId: '4', durationMs: 40 },
          { traceId: '3', durationMs: 30 },
        ],
        failed: [{ traceId: '5', durationMs: 1 }],
      },
    })
  })
})
