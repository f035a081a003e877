import { channel } from 'node:diagnostics_channel'
import { EventEmitter } from 'node:events'
import type {
  ConsumerLogger,
  HandlerFinishedMessage,
  HandlerOutcome,
  MessageRef,
  QuarantineEvent,
} from '@sqs-envelope/consumer'
import type { SqsEnvelopeError, SqsEnvelopeErrorCode } from '@sqs-envelope/core'
import type { SQSRecord } from './lambda-types.ts'
import { receiveCountOf } from './records.ts'

/** A record whose open failed for a cause that may pass: it is reported as a failure and delivered again. */
export interface LambdaTransientEvent extends MessageRef {
  readonly code: SqsEnvelopeErrorCode
}

/** Every event of a handler from {@link createSqsHandler}, with its arguments. None carries plaintext or key bytes. */
export interface LambdaEvents {
  /** An invocation's records from one queue arrived (before opening). */
  batch_received: [{ readonly queueUrl: string; readonly count: number }]
  /** A record is about to be opened (the consumer's `message_received`). */
  message_received: [MessageRef]
  /** A job's handler succeeded: the record is left out of `batchItemFailures`. */
  message_processed: [MessageRef]
  /** A handler threw (or a batch handler reported the job failed): the record is reported as a failure. */
  processing_error: [Error, MessageRef]
  /** A handler ran past `handlerTimeoutMs` or into the invocation's `timeoutMarginMs`: reported as a failure. */
  timeout_error: [SqsEnvelopeError, MessageRef]
  /** A failure that is not about one job: queue look-ups, quarantine sends. */
  error: [Error, { readonly queueUrl: string | undefined; readonly messageIds?: readonly string[] }]
  /** A record that can never be opened was sent intact to quarantine (`moved`), or had nowhere to go. */
  message_quarantined: [QuarantineEvent]
  /** A record could not be opened for a cause that may pass (KMS throttled or down): reported as a failure. */
  transient_error: [SqsEnvelopeError, LambdaTransientEvent]
  /** The KMS breaker opened (suspect failures in a row) or closed (an invocation opened a job again). */
  breaker_opened: [{ readonly streak: number }]
  breaker_closed: []
}

/** The events published on `node:diagnostics_channel`, one channel each: `sqs-envelope:lambda:<event>`. */
export type LambdaChannelEvent = Exclude<keyof LambdaEvents, 'error'>

/** What each channel carries: ids, counts and codes, never payloads. */
export interface LambdaChannelMessage {
  readonly queueUrl: string | undefined
  /** Records concerned (`batch_received` its count, `breaker_opened` its streak). */
  readonly count: number
  readonly code?: string
  /** `message_processed` only: the record's `SentTimestamp` (epoch ms), for end-to-end latency. */
  readonly sentTimestamp?: number
}

/**
 * A channel that measures rather than mirrors an event: `handler_finished`, once per handler call
 * (one record, or one batch for `handleMessageBatch`), carrying the consumer's `HandlerFinishedMessage`.
 */
export const LAMBDA_MEASURE_CHANNELS = {
  handler_finished: 'sqs-envelope:lambda:handler_finished',
} as const

const CHANNEL_EVENTS: readonly LambdaChannelEvent[] = [
  'batch_received',
  'message_received',
  'message_processed',
  'processing_error',
  'timeout_error',
  'message_quarantined',
  'transient_error',
  'breaker_opened',
  'breaker_closed',
]

/** The channel names, by event (`sqs-envelope:lambda:<event>`), for metrics and traces that cost nothing unless subscribed. */
export const LAMBDA_CHANNELS = Object.freeze(
  Object.fromEntries(CHANNEL_EVENTS.map((event) => [event, `sqs-envelope:lambda:${event}`])),
) as { readonly [E in LambdaChannelEvent]: `sqs-envelope:lambda:${E}` }

const channels = new Map(CHANNEL_EVENTS.map((event) => [event, channel(LAMBDA_CHANNELS[event])]))

function publish(event: LambdaChannelEvent, queueUrl: string | undefined, count: number, code?: string): void {
  const own = channels.get(event) as ReturnType<typeof channel>
  if (own.hasSubscribers) own.publish(code === undefined ? { queueUrl, count } : { queueUrl, count, code })
}

const handlerChannel = channel(LAMBDA_MEASURE_CHANNELS.handler_finished)
const processedChannel = channels.get('message_processed') as ReturnType<typeof channel>

/** Whether a handler call is measured: the clock is read only then. */
export function handlerObserved(): boolean {
  return handlerChannel.hasSubscribers
}

/** Counters since the handler was created (the opener's KMS traffic is added by `metrics()`). */
export interface LambdaCounts {
  invocations: number
  received: number
  processed: number
  failed: number
  quarantined: number
  transientRetries: number
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value))
}

/** Ids of a record, for events: never its body. */
export function refOf(record: SQSRecord, queueUrl: string): MessageRef {
  return { messageId: record.messageId, queueUrl, receiveCount: receiveCountOf(record) }
}

/**
 * What every part reports through: the events, the diagnostics channels, the logger and the
 * counters, in one place so that they always agree. Refs are built only for listeners.
 */
export class LambdaReporter {
  readonly emitter = new EventEmitter<LambdaEvents>()
  readonly counts: LambdaCounts = {
    invocations: 0,
    received: 0,
    processed: 0,
    failed: 0,
    quarantined: 0,
    transientRetries: 0,
  }
  readonly logger: ConsumerLogger | undefined

  constructor(logger: ConsumerLogger | undefined) {
    this.logger = logger
  }

  batch(queueUrl: string, count: number): void {
    this.counts.received += count
    publish('batch_received', queueUrl, count)
    this.emitter.emit('batch_received', { queueUrl, count })
  }

  received(record: SQSRecord, queueUrl: string): void {
    publish('message_received', queueUrl, 1)
    if (this.emitter.listenerCount('message_received') > 0) {
      this.emitter.emit('message_received', refOf(record, queueUrl))
    }
  }

  processed(record: SQSRecord, queueUrl: string): void {
    this.counts.processed++
    if (processedChannel.hasSubscribers) {
      const sent = Number(record.attributes?.SentTimestamp)
      processedChannel.publish(
        Number.isFinite(sent) ? { queueUrl, count: 1, sentTimestamp: sent } : { queueUrl, count: 1 },
      )
    }
    if (this.emitter.listenerCount('message_processed') > 0) {
      this.emitter.emit('message_processed', refOf(record, queueUrl))
    }
  }

  /** A handler call ended, started at `startedAt` (`performance.now()`); call only when {@link handlerObserved}. */
  handlerFinished(queueUrl: string, count: number, startedAt: number, outcome: HandlerOutcome): void {
    const message: HandlerFinishedMessage = { queueUrl, count, durationMs: performance.now() - startedAt, outcome }
    handlerChannel.publish(message)
  }

  /** A handler failed: `timedOut` when its signal aborted it (HANDLER_TIMEOUT), else it threw. */
  handlerFailed(error: unknown, timedOut: boolean, record: SQSRecord, queueUrl: string): void {
    this.counts.failed++
    const code = timedOut ? 'HANDLER_TIMEOUT' : undefined
    if (timedOut) {
      publish('timeout_error', queueUrl, 1, code)
      this.emitter.emit('timeout_error', error as SqsEnvelopeError, refOf(record, queueUrl))
    } else {
      publish('processing_error', queueUrl, 1)
      this.emitter.emit('processing_error', asError(error), refOf(record, queueUrl))
    }
  }

  transient(error: SqsEnvelopeError, record: SQSRecord, queueUrl: string): void {
    this.counts.transientRetries++
    publish('transient_error', queueUrl, 1, error.code)
    this.emitter.emit('transient_error', error, { ...refOf(record, queueUrl), code: error.code })
  }

  quarantined(event: QuarantineEvent): void {
    if (event.moved) {
      this.counts.quarantined++
      this.logger?.warn('sqs-envelope lambda: message quarantined', {
        code: event.code,
        messageId: event.messageId,
        queueUrl: event.queueUrl,
        quarantineQueueUrl: event.quarantineQueueUrl,
      })
    }
    publish('message_quarantined', event.queueUrl, 1, event.code)
    this.emitter.emit('message_quarantined', event)
  }

  breakerOpened(streak: number, queueUrl: string): void {
    this.logger?.error('sqs-envelope lambda: KMS breaker opened: suspect failures are reported, not quarantined', {
      streak,
      queueUrl,
    })
    publish('breaker_opened', queueUrl, streak)
    this.emitter.emit('breaker_opened', { streak })
  }

  breakerClosed(queueUrl: string): void {
    this.logger?.warn('sqs-envelope lambda: KMS breaker closed', { queueUrl })
    publish('breaker_closed', queueUrl, 0)
    this.emitter.emit('breaker_closed')
  }

  /** A failure not about one job: to the logger, and to `error` listeners (an EventEmitter throws without one). */
  error(error: Error, queueUrl: string | undefined, records: readonly SQSRecord[] = []): void {
    const messageIds = records.map((r) => r.messageId)
    this.logger?.error(`sqs-envelope lambda: ${error.message}`, {
      code: (error as { code?: unknown }).code,
      queueUrl,
      messageIds,
    })
    if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', error, { queueUrl, messageIds })
  }
}
