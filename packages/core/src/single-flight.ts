import { abortedWaiting, untilAborted } from './internal/abort.ts'

interface Flight<T> {
  readonly promise: Promise<T>
  readonly controller: AbortController
  /** Callers still waiting on it that could abort; when the last one does, the call is aborted. */
  waiting: number
  /** A caller without a signal never aborts, so the call runs to its end. */
  pinned: boolean
}

/**
 * At most one call in flight per key: callers that arrive while one runs join
 * it instead of starting their own (one KMS request for many concurrent misses).
 *
 * Aborts hold per caller: a caller whose own signal aborts is released at once with
 * ABORTED, whoever started the call; the call itself runs on while anyone still waits
 * on it, and is aborted (and forgotten, so that the next caller starts afresh) only when
 * every caller has aborted.
 */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Flight<T>>()

  /** The call in flight for `key`, or a new one from `start`; `joined` tells which. */
  run(
    key: string,
    start: (signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): { promise: Promise<T>; joined: boolean } {
    if (signal?.aborted) return { promise: Promise.reject(abortedWaiting(signal)), joined: false }
    let flight = this.#inFlight.get(key)
    const joined = flight !== undefined
    if (!flight) {
      const controller = new AbortController()
      const started: Flight<T> = {
        controller,
        waiting: 0,
        pinned: false,
        promise: start(controller.signal).finally(() => this.#forget(key, started)),
      }
      flight = started
      this.#inFlight.set(key, flight)
    }
    if (!signal) {
      flight.pinned = true
      return { promise: flight.promise, joined }
    }
    return { promise: this.#wait(key, flight, signal), joined }
  }

  #wait(key: string, flight: Flight<T>, signal: AbortSignal): Promise<T> {
    flight.waiting++
    return untilAborted(flight.promise, signal, () => {
      if (--flight.waiting === 0 && !flight.pinned) {
        this.#forget(key, flight)
        flight.controller.abort(signal.reason)
      }
      return abortedWaiting(signal)
    })
  }

  #forget(key: string, flight: Flight<T>): void {
    if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key)
  }
}
