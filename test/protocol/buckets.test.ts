import { describe, expect, it } from 'vitest'
import { bucketResponseTime } from '../../src/protocol/buckets.js'

describe('bucketResponseTime', () => {
  // Values observed from Python's stats.bucket_response_time (locust-protocol.md §4.3).
  it.each([
    [12.5, 12],
    [13.5, 14],
    [99.5, 100],
    [145, 140],
    [155, 160],
    [1250, 1200],
    [1350, 1400],
    [10500, 10000],
    [11500, 12000],
    [58760.2, 59000],
    [0.4, 0],
    [47, 47],
    [3412, 3400],
  ])('buckets %d ms as %d like Python', (input, expected) => {
    expect(bucketResponseTime(input)).toBe(expected)
  })
})
