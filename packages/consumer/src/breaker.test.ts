import { describe, expect, it } from 'vitest'
import { KmsBreaker } from './breaker.ts'

function breaker(threshold = 3) {
  let now = 0
  const b = new KmsBreaker({ threshold, probeBaseDelayMs: 1000, probeMaxDelayMs: 4000 }, () => now)
  return {
    b,
    advance(ms: number) {
      now += ms
    },
  }
}

describe('KmsBreaker', () => {
  it('quarantines the first `threshold` suspect failures in a row, then opens and retries', () => {
    const { b } = breaker(3)
    expect([b.suspectFailure(), b.suspectFailure(), b.suspectFailure()]).toEqual([
      'quarantine',
      'quarantine',
      'quarantine',
    ])
    expect(b.state).toBe('closed')
    expect(b.suspectFailure()).toBe('retry')
    expect(b.state).toBe('open')
    expect(b.suspectFailure()).toBe('retry')
  })

  it('a threshold of 0 never quarantines a suspect failure', () => {
    const { b } = breaker(0)
    expect(b.suspectFailure()).toBe('retry')
    expect(b.state).toBe('open')
  })

  it('an open that needed KMS resets the streak; one served from the cache does not', () => {
    const { b } = breaker(2)
    b.suspectFailure()
    b.suspectFailure()
    b.success(false)
    expect(b.streak).toBe(2)
    expect(b.suspectFailure()).toBe('retry')
    const other = breaker(2).b
    other.suspectFailure()
    other.suspectFailure()
    other.success(true)
    expect(other.streak).toBe(0)
    expect(other.suspectFailure()).toBe('quarantine')
  })

  it('lets one probe through after the wait, and closes when the probe batch opened without suspect failures', () => {
    const { b, advance } = breaker(0)
    b.suspectFailure()
    expect(b.waitMs()).toBe(1000)
    expect(b.tryProbe()).toBe(false)
    advance(1000)
    expect(b.tryProbe()).toBe(true)
    expect(b.state).toBe('half-open')
    expect(b.tryProbe()).toBe(false)
    expect(b.probeResult(0, 5)).toBe('closed')
    expect(b.state).toBe('closed')
    expect(b.streak).toBe(0)
    expect(b.waitMs()).toBe(0)
  })

  it('a probe with suspect failures reopens it with a doubled wait, capped', () => {
    const { b, advance } = breaker(0)
    b.suspectFailure()
    const waits: number[] = []
    for (let i = 0; i < 4; i++) {
      advance(b.waitMs())
      expect(b.tryProbe()).toBe(true)
      expect(b.suspectFailure()).toBe('retry')
      expect(b.probeResult(1, 0)).toBe('open')
      waits.push(b.waitMs())
    }
    expect(waits).toEqual([2000, 4000, 4000, 4000])
  })

  it('an empty probe tells nothing: open again, same wait', () => {
    const { b, advance } = breaker(0)
    b.suspectFailure()
    advance(1000)
    b.tryProbe()
    expect(b.probeResult(0, 0)).toBe('open')
    expect(b.waitMs()).toBe(1000)
  })
})
