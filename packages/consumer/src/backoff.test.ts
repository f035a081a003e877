import { describe, expect, it } from 'vitest'
import { backoffMs, backoffSeconds } from './backoff.ts'

const policy = { baseDelaySeconds: 2, maxDelaySeconds: 60 }

describe('backoffSeconds', () => {
  it('doubles with the receive count between half and all of the ceiling', () => {
    expect(backoffSeconds(policy, 1, () => 0)).toBe(1)
    expect(backoffSeconds(policy, 1, () => 1)).toBe(2)
    expect(backoffSeconds(policy, 3, () => 0)).toBe(4)
    expect(backoffSeconds(policy, 3, () => 1)).toBe(8)
  })

  it('never exceeds maxDelaySeconds, even for huge receive counts', () => {
    for (const attempt of [6, 7, 50, 10_000]) {
      expect(backoffSeconds(policy, attempt, () => 1)).toBe(60)
      expect(backoffSeconds(policy, attempt, () => 0)).toBe(30)
    }
  })

  it('treats a receive count below 1 as the first delivery', () => {
    expect(backoffSeconds(policy, 0, () => 1)).toBe(2)
    expect(backoffSeconds(policy, -5, () => 1)).toBe(2)
  })

  it('gives whole seconds, as SQS visibility timeouts are', () => {
    for (let i = 0; i < 50; i++) expect(Number.isInteger(backoffSeconds(policy, 4))).toBe(true)
  })

  it('a zero base gives zero: retry at once', () => {
    expect(backoffSeconds({ baseDelaySeconds: 0, maxDelaySeconds: 0 }, 9, () => 1)).toBe(0)
  })
})

describe('backoffMs', () => {
  it('grows to its cap', () => {
    expect(backoffMs(500, 30_000, 1, () => 1)).toBe(500)
    expect(backoffMs(500, 30_000, 2, () => 1)).toBe(1000)
    expect(backoffMs(500, 30_000, 40, () => 1)).toBe(30_000)
    expect(backoffMs(500, 30_000, 40, () => 0)).toBe(15_000)
  })
})
