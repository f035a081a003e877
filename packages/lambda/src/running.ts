import type { MessageAttributeValue } from '@aws-sdk/client-sqs'
import type { MessageContext, ReceivedJob } from '@sqs-envelope/consumer'
import {
  type ContentType,
  type EncryptionContext,
  isSqsEnvelopeError,
  type OpenedMessage,
  type OpenOptions,
  SqsEnvelopeError,
} from '@sqs-envelope/core'
import { MAX_TIMER_MS } from '@sqs-envelope/core/internal'
import type { SQSRecord } from './lambda-types.ts'
import { receiveCountOf, sdkAttributes } from './records.ts'

/**
 * The consumer's `MessageContext` for a Lambda record, so that a handler moves between the two
 * unchanged. `messageAttributes` is converted to the SDK's shape (binary values decoded) only when
 * read; `attributes` are Lambda's own (SQS's names and string values, as the SDK gives them).
 */
export class RecordContext implements MessageContext {
  readonly messageId: string
  readonly queueUrl: string
  readonly receiveCount: number
  readonly attributes: NonNullable<MessageContext['attributes']>
  readonly contentType: ContentType
  readonly kmsKeyArn: string
  readonly encryptionContext: EncryptionContext | undefined
  readonly signal: AbortSignal
  readonly #record: SQSRecord
  #messageAttributes: Record<string, MessageAttributeValue> | undefined

  constructor(record: SQSRecord, queueUrl: string, opened: OpenedMessage, signal: AbortSignal) {
    this.messageId = record.messageId
    this.queueUrl = queueUrl
    this.receiveCount = receiveCountOf(record)
    this.attributes = (record.attributes ?? {}) as NonNullable<MessageContext['attributes']>
    this.contentType = opened.contentType
    this.kmsKeyArn = opened.kmsKeyArn
    this.encryptionContext = opened.encryptionContext
    this.signal = signal
    this.#record = record
  }

  get messageAttributes(): Record<string, MessageAttributeValue> {
    this.#messageAttributes ??= sdkAttributes(this.#record)
    return this.#messageAttributes
  }

  /** What `JSON.stringify` shows: the fields, not the record (whose body is sealed but long). */
  toJSON(): Omit<MessageContext, 'signal'> {
    return {
      messageId: this.messageId,
      queueUrl: this.queueUrl,
      receiveCount: this.receiveCount,
      messageAttributes: this.messageAttributes,
      attributes: this.attributes,
      contentType: this.contentType,
      kmsKeyArn: this.kmsKeyArn,
      encryptionContext: this.encryptionContext,
    }
  }
}

/** One opened job of a batch, for `handleMessageBatch`: the consumer's `ReceivedJob`. */
export class RecordJob<T> extends RecordContext implements ReceivedJob<T> {
  readonly job: T

  constructor(record: SQSRecord, queueUrl: string, opened: OpenedMessage, signal: AbortSignal) {
    super(record, queueUrl, opened, signal)
    this.job = opened.value as T
  }

  override toJSON(): Omit<MessageContext, 'signal'> {
    // The payload is secret: never serialised with the job's ids.
    return super.toJSON()
  }
}

/** A handler's outcome: its value, or why it failed (`timedOut`: its signal aborted it). */
export type HandlerOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown; readonly timedOut: boolean }

/** Resolves with the failure outcome when `signal` aborts; never rejects. */
export function abortOutcome(signal: AbortSignal): Promise<HandlerOutcome> {
  return new Promise((resolve) => {
    const settle = () => resolve({ ok: false, error: signal.reason, timedOut: isTimeout(signal.reason) })
    if (signal.aborted) settle()
    else signal.addEventListener('abort', settle, { once: true })
  })
}

function isTimeout(reason: unknown): boolean {
  return isSqsEnvelopeError(reason) && reason.code === 'HANDLER_TIMEOUT'
}

async function settle<A, B>(fn: (a: A, b: B) => unknown, a: A, b: B): Promise<HandlerOutcome> {
  try {
    return { ok: true, value: await fn(a, b) }
  } catch (error) {
    return { ok: false, error, timedOut: false }
  }
}

/**
 * Runs `fn(a, b)` (a handler and its two arguments: no closure per record) until it settles or
 * `aborted` resolves (its signal aborted): a handler that ignores its signal cannot hold the
 * invocation past its deadline; it runs on unawaited.
 */
export function runHandler<A, B>(
  fn: (a: A, b: B) => unknown,
  a: A,
  b: B,
  aborted: Promise<HandlerOutcome>,
): Promise<HandlerOutcome> {
  return Promise.race([settle(fn, a, b), aborted])
}

/** The reason of a signal aborted by `handlerTimeoutMs`. */
export function handlerTimeout(timeoutMs: number): SqsEnvelopeError {
  return new SqsEnvelopeError('HANDLER_TIMEOUT', `the handler ran past handlerTimeoutMs (${timeoutMs} ms)`)
}

/** The reason of the invocation's signal, aborted `timeoutMarginMs` before Lambda's timeout. */
export function invocationTimeout(marginMs: number): SqsEnvelopeError {
  return new SqsEnvelopeError(
    'HANDLER_TIMEOUT',
    `the invocation came within timeoutMarginMs (${marginMs} ms) of its timeout`,
  )
}

/**
 * The invocation's signal: aborted `marginMs` before `getRemainingTimeInMillis()` runs out (at
 * once if less is left). Without a context that tells the time left (a finite number), it never
 * aborts by itself.
 */
export class Deadline {
  readonly #controller = new AbortController()
  readonly #timer: NodeJS.Timeout | undefined
  /** Resolves when the signal aborts: the one promise every handler of the invocation races. */
  readonly aborted: Promise<HandlerOutcome>
  /** The opener's options for every open of the invocation: made once, not per record. */
  readonly openOptions: OpenOptions

  constructor(remainingMs: number | undefined, marginMs: number) {
    this.aborted = abortOutcome(this.#controller.signal)
    this.openOptions = { signal: this.#controller.signal }
    // Not a number (a hand-made context): no deadline rather than a timer that fires at once.
    if (remainingMs === undefined || !Number.isFinite(remainingMs)) return
    const ms = Math.min(remainingMs - marginMs, MAX_TIMER_MS)
    if (ms <= 0) this.#controller.abort(invocationTimeout(marginMs))
    else this.#timer = setTimeout(() => this.#controller.abort(invocationTimeout(marginMs)), ms)
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** Ends the invocation: clears the timer (the signal stays as it is). */
  done(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
  }
}
