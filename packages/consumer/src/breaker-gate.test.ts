import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BreakerGate, type BreakerRule } from './breaker-gate.ts'
import type { ConsumerEvents } from './events.ts'
import { ConsumerReporter } from './reporting.ts'

/** A rule that opens on the first suspect failure and closes on a probe that opened something. */
function simpleRule(): BreakerRule & { probes: number } {
  const rule = {
    state: 'closed' as BreakerRule['state'],
    streak: 0,
    probes: 0,
    probeAt: 0,
    waitMs: () => Math.max(0, rule.probeAt - Date.now()),
    tryProbe: () => {
      if (rule.state !== 'open' || Date.now() < rule.probeAt) return false
      rule.state = 'half-open'
      rule.probes++
      return true
    },
    probeResult: (_suspect: number, opened: number) => {
      rule.state = opened > 0 ? 'closed' : 'open'
      rule.probeAt = Date.now() + 1000
      return rule.state === 'closed' ? ('closed' as const) : ('open' as const)
    },
    suspectFailure: () => {
      rule.streak++
      rule.state = 'open'
      rule.probeAt = Date.now() + 1000
      return 'retry' as const
    },
    success: () => {},
  }
  return rule
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('BreakerGate', () => {
  it('opening: breaker_opened and a KMS_BREAKER_OPEN error; receiving pauses until the probe; a probe that opened closes it', async () => {
    const emitter = new EventEmitter<ConsumerEvents>()
    const seen: string[] = []
    emitter.on('breaker_opened', ({ streak }) => seen.push(`opened ${streak}`))
    emitter.on('breaker_closed', () => seen.push('closed'))
    emitter.on('error', (error) => seen.push((error as { code?: string }).code ?? ''))
    const rule = simpleRule()
    const gate = new BreakerGate(
      { breakerThreshold: 0, breakerProbeBaseDelayMs: 1, breakerProbeMaxDelayMs: 1 },
      new ConsumerReporter(emitter, undefined),
      rule,
    )
    expect(gate.suspect('k', 'q')).toBe('retry')
    expect(seen).toEqual(['opened 1', 'KMS_BREAKER_OPEN'])

    const slot = { probing: false }
    let passed = false
    void gate.beforeReceive(slot, new AbortController().signal).then(() => (passed = true))
    await vi.advanceTimersByTimeAsync(900)
    expect(passed).toBe(false)
    await vi.advanceTimersByTimeAsync(200)
    expect(passed).toBe(true)
    expect(slot.probing).toBe(true)

    // An empty probe tells nothing: the breaker stays open, the slot is free again.
    gate.received(slot, 0)
    expect(slot.probing).toBe(false)
    expect(gate.state).toBe('open')

    await vi.advanceTimersByTimeAsync(1000)
    await gate.beforeReceive(slot, new AbortController().signal)
    gate.probed(slot, 'q', 0, 3)
    expect(gate.state).toBe('closed')
    expect(seen.at(-1)).toBe('closed')
  })

  it('a paused receive ends when its signal aborts (stop)', async () => {
    const rule = simpleRule()
    const gate = new BreakerGate(
      { breakerThreshold: 0, breakerProbeBaseDelayMs: 1, breakerProbeMaxDelayMs: 1 },
      new ConsumerReporter(new EventEmitter<ConsumerEvents>(), undefined),
      rule,
    )
    gate.suspect('k', 'q')
    const controller = new AbortController()
    const waiting = gate.beforeReceive({ probing: false }, controller.signal)
    controller.abort(new Error('stopping'))
    await expect(waiting).rejects.toThrow('stopping')
  })
})
