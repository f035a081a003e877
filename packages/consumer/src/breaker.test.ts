import { describe, expect, it } from 'vitest'
import { KmsBreaker, SUSPECT_KMS_CODES, type SuspectVerdict } from './breaker.ts'

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

/** Fails `count` messages under `dataKey` and returns the verdicts. */
function fail(b: KmsBreaker, dataKey: string | undefined, count = 1) {
  return Array.from({ length: count }, () => b.suspectFailure(dataKey))
}

describe('KmsBreaker', () => {
  it('watches the six suspect codes (core’s SUSPECT_CODES)', () => {
    expect([...SUSPECT_KMS_CODES].sort()).toEqual([
      'CONTEXT_MISMATCH',
      'KMS_ACCESS_DENIED',
      'KMS_INCORRECT_KEY',
      'KMS_KEY_DISABLED',
      'KMS_KEY_NOT_ALLOWED',
      'KMS_KEY_NOT_FOUND',
    ])
  })

  describe('clause 1: evidence per data key', () => {
    it('the first failure of a data key is retried, even right after good opens', () => {
      const { b } = breaker()
      b.success('good')
      b.success('good')
      expect(b.suspectFailure('bad')).toBe('retry')
      expect(b.state).toBe('closed')
    })

    it('a single odd message among good ones is quarantined once an open succeeded after its first failure', () => {
      const { b } = breaker()
      b.success('good')
      expect(b.suspectFailure('odd')).toBe('retry')
      b.success('good')
      b.success('good')
      // Its redelivery: other keys worked since it first failed.
      expect(b.suspectFailure('odd')).toBe('quarantine')
      expect(b.state).toBe('closed')
    })

    it('later messages under a data key that keeps failing while others open are quarantined at their first delivery', () => {
      const { b } = breaker()
      expect(b.suspectFailure('disabled')).toBe('retry')
      b.success('good')
      expect(fail(b, 'disabled', 2)).toEqual(['quarantine', 'quarantine'])
    })

    it('no successful open since the first failure: no evidence, retried (a wrong allowlist, context or role quarantines nothing)', () => {
      const { b } = breaker(2_000)
      b.success('before')
      expect(b.suspectFailure('one-producer')).toBe('retry')
      // Thousands of messages under that one data key, none of which opens: all retried.
      expect(fail(b, 'one-producer', 500).every((v) => v === 'retry')).toBe(true)
      expect(fail(b, 'another', 500).every((v) => v === 'retry')).toBe(true)
      expect(b.state).toBe('closed')
    })

    it('wants the data key of a success only while a failing key is remembered', () => {
      const { b } = breaker()
      expect(b.wantsDataKey).toBe(false)
      expect(b.suspectFailure('bad')).toBe('retry')
      expect(b.wantsDataKey).toBe(true)
      b.success('bad')
      expect(b.wantsDataKey).toBe(false)
    })

    it('an unknown data key has no evidence: retried', () => {
      const { b } = breaker()
      b.success('good')
      expect(b.suspectFailure(undefined)).toBe('retry')
      b.success('good')
      expect(b.suspectFailure(undefined)).toBe('retry')
    })

    it('a data key that opens again loses its old failure: its next failure starts over', () => {
      const { b } = breaker()
      b.suspectFailure('flaky')
      b.success('other')
      b.success('flaky')
      expect(b.suspectFailure('flaky')).toBe('retry')
    })

    it('remembers a data key by its text, not by the string it was sliced from', () => {
      const { b } = breaker()
      const body = '{"encrypted_data_key":"AAAA","token":"x"}'
      b.suspectFailure(body.slice(23, 27))
      b.success('good')
      expect(b.suspectFailure('AAAA')).toBe('quarantine')
    })
  })

  describe('clause 2: the streak', () => {
    it('a run of more than `threshold` suspect failures with no open between opens the breaker; then every one is retried', () => {
      const { b } = breaker(3)
      expect(fail(b, 'k', 3)).toEqual(['retry', 'retry', 'retry'])
      expect(b.state).toBe('closed')
      expect(b.streak).toBe(3)
      expect(b.suspectFailure('k')).toBe('retry')
      expect(b.state).toBe('open')
      expect(b.streak).toBe(4)
    })

    it('across several data keys the same: one misconfigured worker, many producers', () => {
      const { b } = breaker(3)
      fail(b, 'a')
      fail(b, 'b')
      fail(b, 'c')
      expect(b.state).toBe('closed')
      fail(b, 'd')
      expect(b.state).toBe('open')
    })

    it('any successful open, cache hit or not, resets the streak', () => {
      const { b } = breaker(2)
      fail(b, 'x', 2)
      // The same data key opened before: served from the cache, still an open.
      b.success('good')
      b.success('good')
      expect(b.streak).toBe(0)
      fail(b, 'x', 2)
      expect(b.state).toBe('closed')
    })

    it('failures with evidence leave the streak alone: a burst of them is quarantined and never opens the breaker', () => {
      const { b } = breaker(2)
      b.suspectFailure('k')
      b.success('good')
      expect(fail(b, 'k', 10).every((v) => v === 'quarantine')).toBe(true)
      expect(b.streak).toBe(0)
      expect(b.state).toBe('closed')
    })

    it('a threshold of 0 opens at the first suspect failure', () => {
      const { b } = breaker(0)
      b.success('good')
      expect(b.suspectFailure('k')).toBe('retry')
      expect(b.state).toBe('open')
    })

    it('while open or probing, a data key with evidence is still quarantined, one without is retried', () => {
      const { b, advance } = breaker(1)
      b.suspectFailure('bad')
      b.success('good')
      fail(b, 'x', 2)
      expect(b.state).toBe('open')
      expect(b.suspectFailure('bad')).toBe('quarantine')
      expect(b.suspectFailure('x')).toBe('retry')
      advance(b.waitMs())
      expect(b.tryProbe()).toBe(true)
      expect(b.suspectFailure('bad')).toBe('quarantine')
      expect(b.suspectFailure('new')).toBe('retry')
    })
  })

  describe('clause 3: the probe', () => {
    it('lets one probe through after the wait, and closes when the probe batch opened a message', () => {
      const { b, advance } = breaker(0)
      b.suspectFailure('k')
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

    it('closes when the probe batch opened one message even if others in it failed as suspect', () => {
      const { b, advance } = breaker(0)
      b.suspectFailure('k')
      advance(1000)
      b.tryProbe()
      b.suspectFailure('k')
      b.success('good')
      expect(b.probeResult(9, 1)).toBe('closed')
      expect(b.state).toBe('closed')
    })

    it('a probe with suspect failures and no open reopens it with a doubled wait, capped', () => {
      const { b, advance } = breaker(0)
      b.suspectFailure('k')
      const waits: number[] = []
      for (let i = 0; i < 4; i++) {
        advance(b.waitMs())
        expect(b.tryProbe()).toBe(true)
        expect(b.suspectFailure('k')).toBe('retry')
        expect(b.probeResult(1, 0)).toBe('open')
        waits.push(b.waitMs())
      }
      expect(waits).toEqual([2000, 4000, 4000, 4000])
    })

    it('an empty probe tells nothing: open again, same wait', () => {
      const { b, advance } = breaker(0)
      b.suspectFailure('k')
      advance(1000)
      b.tryProbe()
      expect(b.probeResult(0, 0)).toBe('open')
      expect(b.waitMs()).toBe(1000)
    })

    it('after a close, the wait starts from probeBaseDelayMs again', () => {
      const { b, advance } = breaker(0)
      b.suspectFailure('k')
      advance(1000)
      b.tryProbe()
      b.probeResult(1, 0)
      advance(2000)
      b.tryProbe()
      b.probeResult(0, 1)
      b.suspectFailure('k')
      expect(b.waitMs()).toBe(1000)
    })
  })

  describe('clause 4: a sender mixing messages of a disabled key among good traffic cannot stall the worker', () => {
    it('one bad message per 200 ms among good opens: the breaker never opens, each bad one is quarantined from its second delivery', () => {
      const { b, advance } = breaker(3)
      const verdicts = new Map<string, SuspectVerdict[]>()
      for (let tick = 0; tick < 50; tick++) {
        // 20 good opens per 200 ms, from one producer's data key (cache hits).
        for (let i = 0; i < 10; i++) b.success('good')
        const bad = `bad-${tick}`
        verdicts.set(bad, [b.suspectFailure(bad)])
        for (let i = 0; i < 10; i++) b.success('good')
        // The bad message sent 2 s ago comes back after its visibility backoff.
        const back = `bad-${tick - 10}`
        if (verdicts.has(back)) verdicts.get(back)?.push(b.suspectFailure(back))
        advance(200)
        expect(b.state).toBe('closed')
      }
      const redelivered = [...verdicts.values()].filter((v) => v.length === 2)
      expect(redelivered).toHaveLength(40)
      expect(redelivered.every(([first, second]) => first === 'retry' && second === 'quarantine')).toBe(true)
    })

    it('a probe batch of bad messages that failed before with good opens since is quarantined, not left at the head of the queue', () => {
      const { b, advance } = breaker(3)
      const bad = Array.from({ length: 10 }, (_, i) => `bad-${i}`)
      for (const key of bad) b.suspectFailure(key)
      expect(b.state).toBe('open')
      // Opens of batches that were in flight when it opened.
      b.success('good')
      advance(b.waitMs())
      expect(b.tryProbe()).toBe(true)
      // The probe receives only these ten: every one is quarantined, none retried.
      expect(bad.map((key) => b.suspectFailure(key))).toEqual(bad.map(() => 'quarantine'))
      expect(b.probeResult(0, 0)).toBe('open')
      advance(b.waitMs())
      expect(b.tryProbe()).toBe(true)
      expect(b.probeResult(0, 10)).toBe('closed')
    })

    it('a burst of bad messages that does open the breaker is undone by the next probe that opens a good one', () => {
      const { b, advance } = breaker(3)
      b.success('good')
      fail(b, 'bad', 4)
      expect(b.state).toBe('open')
      advance(b.waitMs())
      expect(b.tryProbe()).toBe(true)
      fail(b, 'bad', 3)
      b.success('good')
      expect(b.probeResult(3, 1)).toBe('closed')
      expect(b.suspectFailure('bad')).toBe('quarantine')
    })
  })
})
