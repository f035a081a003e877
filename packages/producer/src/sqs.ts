import {
  GetQueueAttributesCommand,
  type QueueAttributeName,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { SqsEnvelopeError } from '@sqs-envelope/core'
import { type BackoffPolicy, backoffMs, delay, requestSignal } from '@sqs-envelope/core/internal'
import { classifyRequestFailure, type SendFailureInfo, TIMED_OUT } from './classify.ts'
import type { ResolvedProducerOptions } from './options.ts'

/** What one SQS request came to: its output, or why it failed. */
export type RequestOutcome<T> =
  | { readonly ok: true; readonly output: T }
  | { readonly ok: false; readonly error: unknown; readonly info: SendFailureInfo; readonly aborted: boolean }

/**
 * The producer's SQS requests to its queue: each bounded by `requestTimeoutMs` (a timeout is a
 * retryable failure that may have been sent), and the retry policy of whole requests.
 */
export class QueueRequests {
  readonly #sqs: SQSClient
  readonly #owned: boolean
  readonly #options: ResolvedProducerOptions
  readonly #backoff: BackoffPolicy
  #requestAttempts: Promise<number> | undefined

  constructor(sqs: SQSClient, owned: boolean, options: ResolvedProducerOptions) {
    this.#sqs = sqs
    this.#owned = owned
    this.#options = options
    this.#backoff = { baseMs: options.sqsRetryBaseDelayMs, maxMs: options.sqsRetryMaxDelayMs }
  }

  /**
   * Attempts we make per failed request, so that exactly one layer retries it: a client we built,
   * or an injected one with SDK retries off (`maxAttempts: 1`), gets ours (`sqsMaxAttempts`); an
   * injected client that retries itself keeps its own retries, and ours make one attempt.
   */
  requestAttempts(): Promise<number> {
    this.#requestAttempts ??= this.#owned ? Promise.resolve(this.#options.sqsMaxAttempts) : this.#sdkAttempts()
    return this.#requestAttempts
  }

  async #sdkAttempts(): Promise<number> {
    const configured = (this.#sqs as { config?: { maxAttempts?: unknown } }).config?.maxAttempts
    const sdk = typeof configured === 'function' ? await (configured as () => Promise<unknown>)() : configured
    return typeof sdk === 'number' && sdk > 1 ? 1 : this.#options.sqsMaxAttempts
  }

  /** Waits the backoff before attempt `attempt + 1`; false when `signal` aborted the wait. */
  backoff(attempt: number, signal: AbortSignal | undefined): Promise<boolean> {
    return delay(backoffMs(attempt, this.#backoff), signal).then(waited, aborted)
  }

  /** One SendMessageBatch request. */
  sendBatch(
    entries: SendMessageBatchRequestEntry[],
    signal: AbortSignal | undefined,
  ): Promise<RequestOutcome<SendMessageBatchCommandOutput>> {
    const command = new SendMessageBatchCommand({ QueueUrl: this.#options.queueUrl, Entries: entries })
    const abortSignal = requestSignal(signal, this.#options.requestTimeoutMs)
    return this.#sqs
      .send(command, { abortSignal })
      .then(succeeded, (error: unknown) => failed(error, abortSignal, signal))
  }

  /** GetQueueAttributes, retried like a batch on throttling, 5xx, network errors and timeouts. */
  async getAttributes(names: readonly QueueAttributeName[], signal?: AbortSignal): Promise<Record<string, string>> {
    const attempts = await this.requestAttempts()
    for (let attempt = 1; ; attempt++) {
      const command = new GetQueueAttributesCommand({ QueueUrl: this.#options.queueUrl, AttributeNames: [...names] })
      const abortSignal = requestSignal(signal, this.#options.requestTimeoutMs)
      const outcome = await this.#sqs
        .send(command, { abortSignal })
        .then(succeeded, (error: unknown) => failed(error, abortSignal, signal))
      if (outcome.ok) return outcome.output.Attributes ?? {}
      const retry = !outcome.aborted && outcome.info.retryable && attempt < attempts
      if (retry && (await this.backoff(attempt, signal))) continue
      throw attributesFailed(outcome, signal?.aborted === true, attempt)
    }
  }
}

function waited(): boolean {
  return true
}

function aborted(): boolean {
  return false
}

function succeeded<T>(output: T): RequestOutcome<T> {
  return { ok: true, output }
}

/** A failed request: aborted by the send's signal, timed out by ours, or classified by what SQS or the SDK said. */
function failed(error: unknown, abortSignal: AbortSignal, signal: AbortSignal | undefined): RequestOutcome<never> {
  const byCaller = signal?.aborted === true
  const info = !byCaller && abortSignal.aborted ? TIMED_OUT : classifyRequestFailure(error)
  return { ok: false, error, info, aborted: byCaller }
}

function attributesFailed(
  outcome: Extract<RequestOutcome<unknown>, { ok: false }>,
  byCaller: boolean,
  attempts: number,
): SqsEnvelopeError {
  const code = byCaller ? 'ABORTED' : outcome.info.retryable ? 'SQS_UNAVAILABLE' : 'SQS_REJECTED'
  const what = byCaller ? 'AbortError' : outcome.info.sqsCode
  return new SqsEnvelopeError(code, `SQS GetQueueAttributes failed with ${what} after ${attemptsText(attempts)}`, {
    cause: outcome.error,
  })
}

/** "1 attempt", "3 attempts". */
export function attemptsText(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`
}
