import { backoffMs, backoffSeconds } from '@sqs-envelope/core/internal'
import { describe, expect, it } from 'vitest'
import { MAX_VISIBILITY_TIMEOUT_SECONDS } from './backoff.ts'

// The consumer's visibility backoffs go through core's one backoff; these pin what the consumer relies on.
const policy = { baseDelaySeconds: 2, maxDelaySeconds: 60 }

describe('visibility backoff (core backoffSeconds with the consumer policy)', () => {
  it('doubles with the receive count between half and all of the ceiling', () => {
    expect(backoffSeconds(1, policy, () => 0)).toBe(1)
    expect(backoffSeconds(1, policy, () => 1)).toBe(2)
    expect(backoffSeconds(3, policy, () => 0)).toBe(4)
    expect(backoffSeconds(3, policy, () => 1)).toBe(8)
  })

  it('never exceeds maxDelaySeconds, even for huge receive counts', () => {
    for (const attempt of [6, 7, 50, 10_000]) {
      expect(backoffSeconds(attempt, policy, () => 1)).toBe(60)
      expect(backoffSeconds(attempt, policy, () => 0)).toBe(30)
    }
  })

  it('treats a receive count below 1 as the first delivery', () => {
    expect(backoffSeconds(0, policy, () => 1)).toBe(2)
    expect(backoffSeconds(-5, policy, () => 1)).toBe(2)
  })

  it('gives whole seconds, as SQS visibility timeouts are', () => {
    for (let i = 0; i < 50; i++) expect(Number.isInteger(backoffSeconds(4, policy))).toBe(true)
  })

  it('a zero base gives zero (visible again at once) and the SQS maximum holds', () => {
    expect(backoffSeconds(5, { baseDelaySeconds: 0, maxDelaySeconds: 0 })).toBe(0)
    const max = { baseDelaySeconds: MAX_VISIBILITY_TIMEOUT_SECONDS, maxDelaySeconds: MAX_VISIBILITY_TIMEOUT_SECONDS }
    expect(backoffSeconds(30, max, () => 1)).toBe(MAX_VISIBILITY_TIMEOUT_SECONDS)
  })
})

describe('receive backoff (core backoffMs with the consumer policy)', () => {
  it('grows to its cap', () => {
    const receive = { baseMs: 500, maxMs: 30_000 }
    expect(backoffMs(1, receive, () => 1)).toBe(500)
    expect(backoffMs(2, receive, () => 1)).toBe(1000)
    expect(backoffMs(40, receive, () => 1)).toBe(30_000)
    expect(backoffMs(40, receive, () => 0)).toBe(15_000)
  })
})
