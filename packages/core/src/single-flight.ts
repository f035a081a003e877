import { isSqsEnvelopeError } from './errors.ts'

/**
 * At most one call in flight per key: callers that arrive while one runs join
 * it instead of starting their own (one KMS request for many concurrent misses).
 */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>()

  /** The call in flight for `key`, or a new one from `start`; `joined` tells which. */
  run(key: string, start: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const current = this.#inFlight.get(key)
    if (current) return { promise: current, joined: true }
    const promise = start().finally(() => this.#inFlight.delete(key))
    this.#inFlight.set(key, promise)
    return { promise, joined: false }
  }
}

/**
 * A joiner inherits the outcome of the call it joined, except that call's own
 * abort: then it returns undefined, to try again under its own signal.
 */
export async function settleUnlessOthersAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined) {
  try {
    return await promise
  } catch (error) {
    if (isSqsEnvelopeError(error) && error.code === 'ABORTED' && !signal?.aborted) return undefined
    throw error
  }
}
