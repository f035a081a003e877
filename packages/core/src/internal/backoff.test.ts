import { describe, expect, it } from 'vitest'
import { backoffMs, backoffSeconds } from './backoff.ts'

const lowest = () => 0
const highest = () => 1 - Number.EPSILON
const middle = () => 0.5

describe('backoffMs: exponential, capped, equal jitter', () => {
  const policy = { baseMs: 100, maxMs: 1000 }

  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1000],
    [40, 1000],
  ])('attempt %i: from half the ceiling to the ceiling %i', (attempt, ceiling) => {
    expect(backoffMs(attempt, policy, lowest)).toBe(ceiling / 2)
    expect(backoffMs(attempt, policy, highest)).toBe(ceiling)
    expect(backoffMs(attempt, policy, middle)).toBe(Math.round(ceiling * 0.75))
  })

  it('rounds to whole ms and never goes above the cap', () => {
    expect(backoffMs(1, { baseMs: 3, maxMs: 3 }, () => 0.3)).toBe(2) // 1.5 + 0.45 = 1.95
    for (let attempt = 1; attempt <= 64; attempt++) {
      const ms = backoffMs(attempt, { baseMs: 7, maxMs: 999 }, highest)
      expect(Number.isInteger(ms)).toBe(true)
      expect(ms).toBeLessThanOrEqual(999)
    }
  })

  it('a base of 0 waits 0, at any attempt (no NaN from 0 · 2^attempt)', () => {
    expect(backoffMs(2000, { baseMs: 0, maxMs: 0 }, highest)).toBe(0)
    expect(backoffMs(2000, { baseMs: 0, maxMs: 50 }, highest)).toBe(0)
  })

  it('attempt below 1 counts as the first', () => {
    expect(backoffMs(0, policy, highest)).toBe(100)
  })

  it('uses Math.random when no random is given', () => {
    for (let i = 0; i < 100; i++) {
      const ms = backoffMs(3, policy)
      expect(ms).toBeGreaterThanOrEqual(200)
      expect(ms).toBeLessThanOrEqual(400)
    }
  })
})

describe('backoffSeconds: the same policy in whole seconds', () => {
  const policy = { baseDelaySeconds: 5, maxDelaySeconds: 300 }

  it.each([
    [1, 3, 5], // ceiling 5: 2.5 rounds to 3
    [2, 5, 10],
    [3, 10, 20],
    [7, 150, 300],
    [30, 150, 300],
  ])('attempt %i: from %i s to %i s', (attempt, low, high) => {
    expect(backoffSeconds(attempt, policy, lowest)).toBe(low)
    expect(backoffSeconds(attempt, policy, highest)).toBe(high)
  })

  it('never goes above maxDelaySeconds, and is 0 when the base is', () => {
    expect(backoffSeconds(3, { baseDelaySeconds: 1, maxDelaySeconds: 3 }, highest)).toBe(3)
    expect(backoffSeconds(100, { baseDelaySeconds: 0, maxDelaySeconds: 43_200 }, highest)).toBe(0)
    expect(backoffSeconds(100, { baseDelaySeconds: 1, maxDelaySeconds: 43_200 }, highest)).toBe(43_200)
  })
})
