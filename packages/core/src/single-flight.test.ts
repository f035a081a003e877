import { describe, expect, it } from 'vitest'
import { SqsEnvelopeError } from './errors.ts'
import { SingleFlight, settleUnlessOthersAbort } from './single-flight.ts'

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
})

describe('settleUnlessOthersAbort', () => {
  const aborted = () => Promise.reject(new SqsEnvelopeError('ABORTED', 'aborted'))

  it("returns undefined when the joined call was aborted by someone else's signal", async () => {
    expect(await settleUnlessOthersAbort(aborted(), undefined)).toBeUndefined()
  })

  it('rethrows the abort when its own signal aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(settleUnlessOthersAbort(aborted(), controller.signal)).rejects.toMatchObject({ code: 'ABORTED' })
  })

  it('rethrows any other failure', async () => {
    const denied = Promise.reject(new SqsEnvelopeError('KMS_ACCESS_DENIED', 'denied'))
    await expect(settleUnlessOthersAbort(denied, undefined)).rejects.toMatchObject({ code: 'KMS_ACCESS_DENIED' })
  })
})
