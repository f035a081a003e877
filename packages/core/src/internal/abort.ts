import { SqsEnvelopeError } from '../errors.ts'

/**
 * The one abortable wait: resolves after `ms`, rejects with `signal.reason` when the signal
 * aborts (at once if it already has). Built on the global `setTimeout`, so fake timers drive it.
 * @internal
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * The one "an abort stopped the wait" error: code ABORTED, the signal's reason as its cause.
 * @internal
 */
export function abortedWaiting(signal: AbortSignal): SqsEnvelopeError {
  return new SqsEnvelopeError('ABORTED', 'aborted while waiting', { cause: signal.reason })
}

/**
 * `promise`, or a rejection with `onAbort()`'s error as soon as `signal` aborts, whichever comes
 * first; the listener is removed either way. `onAbort` may also do the caller's bookkeeping.
 * @internal
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(onAbort())
    signal.addEventListener('abort', abort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort)
        reject(error)
      },
    )
  })
}

/**
 * The signal of one AWS request: it aborts when `signal` (if any) does, or after `timeoutMs`
 * with a `TimeoutError` DOMException, so that a request the service accepted and never answers
 * still ends, also on an injected client. Which of the two aborted it: `signal.aborted`.
 * @internal
 */
export function requestSignal(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs)
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout])
}
