import { describe, expect, it } from 'vitest'
import { entryIdFor, minimumBatches, planBatches } from './plan.ts'

const limits = { maxEntries: 10, maxBytes: 65_536 }

/** A deterministic pseudo-random generator (mulberry32), so failures reproduce. */
function random(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

function check(plan: number[][], sizes: readonly number[], ordered = false) {
  const seen = plan.flat()
  expect(seen.length).toBe(sizes.length)
  expect(new Set(seen).size).toBe(sizes.length)
  for (const batch of plan) {
    expect(batch.length).toBeGreaterThan(0)
    expect(batch.length).toBeLessThanOrEqual(limits.maxEntries)
    expect(batch.reduce((sum, i) => sum + (sizes[i] as number), 0)).toBeLessThanOrEqual(limits.maxBytes)
    expect([...batch].sort((a, b) => a - b)).toEqual(batch)
  }
  if (ordered) expect(seen).toEqual(sizes.map((_, i) => i))
}

describe('planBatches', () => {
  it('1,000 small messages: 100 requests of 10', () => {
    const sizes = Array.from({ length: 1000 }, () => 400)
    const plan = planBatches(sizes, limits, false)
    check(plan, sizes)
    expect(plan).toHaveLength(100)
  })

  it('messages larger than half the limit never share a request', () => {
    const sizes = Array.from({ length: 7 }, () => 40_000)
    const plan = planBatches(sizes, limits, false)
    check(plan, sizes)
    expect(plan).toHaveLength(7)
  })

  it('a size-bound mix needs ceil(total / limit) requests', () => {
    const sizes = Array.from({ length: 30 }, () => 21_000)
    const plan = planBatches(sizes, limits, false)
    check(plan, sizes)
    expect(plan).toHaveLength(10)
  })

  it('large, medium and small mixed: every request full, the lower bound', () => {
    const next = random(7)
    const sizes = [
      ...Array.from({ length: 40 }, () => 55_000 + Math.floor(next() * 4000)),
      ...Array.from({ length: 200 }, () => 1000 + Math.floor(next() * 5000)),
      ...Array.from({ length: 760 }, () => 350 + Math.floor(next() * 100)),
    ]
    const plan = planBatches(sizes, limits, false)
    check(plan, sizes)
    expect(minimumBatches(sizes, limits)).toBe(100)
    expect(plan).toHaveLength(100)
  })

  it.each([1, 2, 3, 4, 5])('random mixes (seed %i) come within 2%% of the lower bound', (seed) => {
    const next = random(seed)
    const sizes = Array.from({ length: 1000 }, () => {
      const r = next()
      return r < 0.05
        ? 30_000 + Math.floor(next() * 35_000)
        : r < 0.3
          ? Math.floor(next() * 8000) + 300
          : 300 + Math.floor(next() * 200)
    })
    const plan = planBatches(sizes, limits, false)
    check(plan, sizes)
    expect(plan.length).toBeLessThanOrEqual(Math.ceil(minimumBatches(sizes, limits) * 1.02))
  })

  it('ordered (FIFO): consecutive runs in input order, cut by count and by size', () => {
    const sizes = [30_000, 30_000, 30_000, ...Array.from({ length: 12 }, () => 100)]
    const plan = planBatches(sizes, limits, true)
    check(plan, sizes, true)
    expect(plan).toEqual([
      [0, 1],
      [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
      [12, 13, 14],
    ])
  })

  it('honours a smaller batchSize', () => {
    const sizes = Array.from({ length: 25 }, () => 10)
    expect(planBatches(sizes, { maxEntries: 4, maxBytes: 1000 }, false)).toHaveLength(7)
    expect(planBatches(sizes, { maxEntries: 4, maxBytes: 1000 }, true)).toHaveLength(7)
  })

  it('messages near the limit leave room for few others: the slot bound counts that, and the plan meets it', () => {
    // Each 65,000-byte message leaves 536 bytes: one 400-byte message fits beside it, not two.
    const sizes = [...Array.from({ length: 10 }, () => 65_000), ...Array.from({ length: 90 }, () => 400)]
    // By count 10, by bytes 10, by large messages 10; by slots: 10 requests of 2, then 80 others in 8.
    expect(minimumBatches(sizes, limits)).toBe(18)
    const plan = planBatches(sizes, limits, false)
    check(plan, sizes)
    expect(plan).toHaveLength(18)
  })

  it('no messages, no requests', () => {
    expect(planBatches([], limits, false)).toEqual([])
    expect(planBatches([], limits, true)).toEqual([])
  })
})

describe('entryIdFor', () => {
  it('is always a valid SQS entry Id, unique, and maps back to the input position', () => {
    const seen = new Set<string>()
    for (const index of [...Array.from({ length: 10_000 }, (_, i) => i), Number.MAX_SAFE_INTEGER]) {
      const id = entryIdFor(index)
      expect(id).toMatch(/^[A-Za-z0-9_-]{1,80}$/)
      expect(Number(id)).toBe(index)
      seen.add(id)
    }
    expect(seen.size).toBe(10_001)
  })
})
