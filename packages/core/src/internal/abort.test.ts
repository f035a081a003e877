import { afterEach, describe, expect, it, vi } from 'vitest'
import { isSqsEnvelopeError } from '../errors.ts'
import { abortedWaiting, delay, requestSignal } from './abort.ts'

describe('delay', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('resolves after ms (fake timers drive it)', async () => {
    vi.useFakeTimers()
    let done = false
    const waiting = delay(1000).then(() => {
      done = true
    })
    await vi.advanceTimersByTimeAsync(999)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await waiting
    expect(done).toBe(true)
  })

  it("rejects with the signal's reason when it aborts, and clears its timer", async () => {
    vi.useFakeTimers()
    const controller = new AbortController()
    const reason = new Error('stop')
    const waiting = delay(60_000, controller.signal).catch((e: unknown) => e)
    controller.abort(reason)
    expect(await waiting).toBe(reason)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('rejects at once when the signal has already aborted', async () => {
    vi.useFakeTimers()
    const signal = AbortSignal.abort('gone')
    await expect(delay(10, signal)).rejects.toBe('gone')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('removes its abort listener when it resolves', async () => {
    vi.useFakeTimers()
    const controller = new AbortController()
    const remove = vi.spyOn(controller.signal, 'removeEventListener')
    const waiting = delay(5, controller.signal)
    await vi.advanceTimersByTimeAsync(5)
    await waiting
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function))
  })
})

describe('abortedWaiting', () => {
  it('is ABORTED (transient) with the reason as its cause', () => {
    const controller = new AbortController()
    const reason = new Error('shutting down')
    controller.abort(reason)
    const error = abortedWaiting(controller.signal)
    expect(isSqsEnvelopeError(error) && [error.code, error.kind, error.message]).toEqual([
      'ABORTED',
      'transient',
      'aborted while waiting',
    ])
    expect(error.cause).toBe(reason)
  })
})

describe('requestSignal', () => {
  it('aborts after timeoutMs with a TimeoutError', async () => {
    const signal = requestSignal(undefined, 30)
    expect(signal.aborted).toBe(false)
    await vi.waitFor(() => expect(signal.aborted).toBe(true), { timeout: 2000, interval: 5 })
    expect((signal.reason as DOMException).name).toBe('TimeoutError')
  })

  it("follows the caller's signal, whose reason it keeps", () => {
    const controller = new AbortController()
    const signal = requestSignal(controller.signal, 60_000)
    controller.abort(new Error('caller'))
    expect(signal.aborted).toBe(true)
    expect((signal.reason as Error).message).toBe('caller')
  })

  it("times out while the caller's signal stays live", async () => {
    const controller = new AbortController()
    const signal = requestSignal(controller.signal, 30)
    await vi.waitFor(() => expect(signal.aborted).toBe(true), { timeout: 2000, interval: 5 })
    expect([controller.signal.aborted, (signal.reason as DOMException).name]).toEqual([false, 'TimeoutError'])
  })

  it('is aborted at once when the caller already is', () => {
    expect(requestSignal(AbortSignal.abort('x'), 60_000).reason).toBe('x')
  })
})
