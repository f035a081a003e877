import { describe, expect, it } from 'vitest'
import { isSqsEnvelopeError } from './errors.ts'
import { SingleFlight } from './single-flight.ts'

/** A call that settles only when told to, and reports whether it was aborted. */
function controllable<T>() {
  let resolve!: (value: T) => void
  let aborted = false
  const start = (signal: AbortSignal) =>
    new Promise<T>((res, reject) => {
      resolve = res
      signal.addEventListener('abort', () => {
        aborted = true
        reject(new Error('call aborted'))
      })
    })
  return { start, resolve: (value: T) => resolve(value), wasAborted: () => aborted }
}

describe('SingleFlight', () => {
  it('joins callers for one key onto one call, and starts afresh once it settled', async () => {
    const flights = new SingleFlight<number>()
    let starts = 0
    const start = () => new Promise<number>((resolve) => setTimeout(() => resolve(++starts), 5))
    const runs = Array.from({ length: 5 }, () => flights.run('k', start))
    expect(runs.map((r) => r.joined)).toEqual([false, true, true, true, true])
    expect(await Promise.all(runs.map((r) => r.promise))).toEqual([1, 1, 1, 1, 1])
    expect(await flights.run('k', start).promise).toBe(2)
  })

  it('keeps keys apart', async () => {
    const flights = new SingleFlight<string>()
    const a = flights.run('a', async () => 'a')
    const b = flights.run('b', async () => 'b')
    expect([a.joined, b.joined]).toEqual([false, false])
    expect([await a.promise, await b.promise]).toEqual(['a', 'b'])
  })

  it('a failed call fails its joiners and is forgotten', async () => {
    const flights = new SingleFlight<number>()
    const failing = flights.run('k', () => Promise.reject(new Error('boom')))
    const joiner = flights.run('k', async () => 1)
    await expect(failing.promise).rejects.toThrow('boom')
    await expect(joiner.promise).rejects.toThrow('boom')
    expect(await flights.run('k', async () => 3).promise).toBe(3)
  })

  it('a joiner whose signal aborts is released at once with ABORTED, and the call carries on for the others', async () => {
    const flights = new SingleFlight<number>()
    const call = controllable<number>()
    const leader = flights.run('k', call.start)
    const controller = new AbortController()
    const joiner = flights.run('k', call.start, controller.signal)
    controller.abort()
    // Released before the call settles: the call has not been resolved yet.
    const error = await joiner.promise.catch((e: unknown) => e)
    expect(isSqsEnvelopeError(error) && error.code).toBe('ABORTED')
    expect(call.wasAborted()).toBe(false)
    call.resolve(7)
    expect(await leader.promise).toBe(7)
  })

  it('a leader whose signal aborts is released at once; its joiners still get the answer', async () => {
    const flights = new SingleFlight<number>()
    const call = controllable<number>()
    const controller = new AbortController()
    const leader = flights.run('k', call.start, controller.signal)
    const joiner = flights.run('k', call.start, new AbortController().signal)
    controller.abort()
    await expect(leader.promise).rejects.toMatchObject({ code: 'ABORTED' })
    call.resolve(9)
    expect(await joiner.promise).toBe(9)
    expect(call.wasAborted()).toBe(false)
  })

  it('the call is aborted and forgotten when every caller has aborted', async () => {
    const flights = new SingleFlight<number>()
    const call = controllable<number>()
    const a = new AbortController()
    const b = new AbortController()
    const first = flights.run('k', call.start, a.signal)
    const second = flights.run('k', call.start, b.signal)
    a.abort()
    expect(call.wasAborted()).toBe(false)
    b.abort()
    expect(call.wasAborted()).toBe(true)
    await expect(first.promise).rejects.toMatchObject({ code: 'ABORTED' })
    await expect(second.promise).rejects.toMatchObject({ code: 'ABORTED' })
    const next = flights.run('k', async () => 4)
    expect(next.joined).toBe(false)
    expect(await next.promise).toBe(4)
  })

  it('a caller whose signal already aborted starts nothing', async () => {
    const flights = new SingleFlight<number>()
    let started = 0
    const run = flights.run('k', async () => ++started, AbortSignal.abort())
    await expect(run.promise).rejects.toMatchObject({ code: 'ABORTED' })
    expect(started).toBe(0)
  })
})
