import { requestSignal } from '@sqs-envelope/core/internal'

/** After stop() gave up waiting: how long a last request (releasing an aborted job) may take, in ms. */
export const STOP_GRACE_MS = 500

/**
 * The signals of one run (start → stop). `receive` aborts pending long polls when stop() is called;
 * `work` aborts handlers, opens and every pending SQS/KMS request when stop() gives up waiting, so
 * that stop() is bounded even when a service accepted a request and never answers.
 */
export class RunSignals {
  readonly #requestTimeoutMs: number
  readonly #longPollMs: number
  #receive = new AbortController()
  #work = new AbortController()

  constructor(requestTimeoutMs: number, waitTimeSeconds: number) {
    this.#requestTimeoutMs = requestTimeoutMs
    this.#longPollMs = waitTimeSeconds * 1000 + requestTimeoutMs
  }

  /** Fresh signals for a new run. */
  restart(): void {
    this.#receive = new AbortController()
    this.#work = new AbortController()
  }

  get receive(): AbortSignal {
    return this.#receive.signal
  }

  /** Reaches every handler, open and AWS request of this run. */
  get work(): AbortSignal {
    return this.#work.signal
  }

  stopReceiving(reason: unknown): void {
    this.#receive.abort(reason)
  }

  abortWork(reason: unknown): void {
    this.#work.abort(reason)
  }

  /** One ReceiveMessage: aborted by stop(), or after the long poll plus `requestTimeoutMs`. */
  receiveRequest(): AbortSignal {
    return requestSignal(this.#receive.signal, this.#longPollMs)
  }

  /**
   * One other SQS request: aborted with the run's work, or after `requestTimeoutMs`. Once the work
   * was aborted, a request still made (releasing an aborted job) gets {@link STOP_GRACE_MS}.
   */
  request(): AbortSignal {
    if (this.#work.signal.aborted) return AbortSignal.timeout(Math.min(STOP_GRACE_MS, this.#requestTimeoutMs))
    return requestSignal(this.#work.signal, this.#requestTimeoutMs)
  }
}
