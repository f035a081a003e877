import { channel } from 'node:diagnostics_channel'
import type { EventEmitter } from 'node:events'
import type { Message } from '@aws-sdk/client-sqs'
import type { SqsEnvelopeError } from '@sqs-envelope/core'
import type { ConsumerEvents, MessageRef } from './events.ts'
import type { ConsumerLogger } from './options.ts'

/**
 * The old single channel on which every consumer published what happens to messages, each message
 * a {@link ConsumerDiagnostic}.
 * @deprecated Subscribe to {@link CONSUMER_CHANNELS} (one channel per event, named as the event).
 * Still published for one release.
 */
export const CONSUMER_DIAGNOSTICS_CHANNEL = 'sqs-envelope:consumer'

/** What the deprecated {@link CONSUMER_DIAGNOSTICS_CHANNEL} carries: ids, counts and codes, never payloads. */
export interface ConsumerDiagnostic {
  readonly event:
    | 'received'
    | 'processed'
    | 'failed'
    | 'quarantined'
    | 'transient_retry'
    | 'breaker_opened'
    | 'breaker_closed'
  readonly queueUrl: string
  /** Messages concerned (a receive reports its batch size). */
  readonly count: number
  readonly code?: string
}

/** The events published on `node:diagnostics_channel`, one channel each (`sqs-envelope:consumer:<event>`). */
export type ConsumerChannelEvent =
  | 'message_received'
  | 'message_processed'
  | 'processing_error'
  | 'timeout_error'
  | 'message_quarantined'
  | 'transient_error'
  | 'breaker_opened'
  | 'breaker_closed'

/** What each consumer channel carries: ids, counts and codes, never payloads. */
export interface ConsumerChannelMessage {
  readonly queueUrl: string
  /** Messages concerned (a receive reports its batch size; `breaker_opened` its streak). */
  readonly count: number
  readonly code?: string
  /**
   * `message_processed` only: the SQS `SentTimestamp` system attribute (epoch ms) when the message
   * carries it (consumers with metrics on ask for it), for end-to-end latency.
   */
  readonly sentTimestamp?: number
}

/**
 * Channels that measure rather than mirror an event (no emitter event of that name):
 * `handler_finished` once per handler call (a {@link HandlerFinishedMessage}), `message_settled`
 * when messages stop being in flight (handled and acknowledged, released or moved; a
 * {@link ConsumerChannelMessage} with `queueUrl` and `count`).
 */
export const CONSUMER_MEASURE_CHANNELS = {
  handler_finished: 'sqs-envelope:consumer:handler_finished',
  message_settled: 'sqs-envelope:consumer:message_settled',
} as const

/** How a handler call ended. */
export type HandlerOutcome = 'ok' | 'failed' | 'timeout' | 'aborted'

/** One handler call (one job, or one batch for `handleMessageBatch`): its duration, never its job. */
export interface HandlerFinishedMessage {
  readonly queueUrl: string
  /** Jobs handed to the call. */
  readonly count: number
  readonly durationMs: number
  readonly outcome: HandlerOutcome
}

function channelName<E extends ConsumerChannelEvent>(event: E): `sqs-envelope:consumer:${E}` {
  return `sqs-envelope:consumer:${event}`
}

/** The channel names, by event, for metrics and traces that cost nothing unless subscribed. */
export const CONSUMER_CHANNELS = {
  message_received: channelName('message_received'),
  message_processed: channelName('message_processed'),
  processing_error: channelName('processing_error'),
  timeout_error: channelName('timeout_error'),
  message_quarantined: channelName('message_quarantined'),
  transient_error: channelName('transient_error'),
  breaker_opened: channelName('breaker_opened'),
  breaker_closed: channelName('breaker_closed'),
} as const

const LEGACY_EVENT: Readonly<Record<ConsumerChannelEvent, ConsumerDiagnostic['event']>> = {
  message_received: 'received',
  message_processed: 'processed',
  processing_error: 'failed',
  timeout_error: 'failed',
  message_quarantined: 'quarantined',
  transient_error: 'transient_retry',
  breaker_opened: 'breaker_opened',
  breaker_closed: 'breaker_closed',
}

const legacy = channel(CONSUMER_DIAGNOSTICS_CHANNEL)
const channels = Object.fromEntries(
  Object.entries(CONSUMER_CHANNELS).map(([event, name]) => [event, channel(name)]),
) as Record<ConsumerChannelEvent, ReturnType<typeof channel>>

const handlerChannel = channel(CONSUMER_MEASURE_CHANNELS.handler_finished)
const settledChannel = channel(CONSUMER_MEASURE_CHANNELS.message_settled)
const processedChannel = channels.message_processed

/** Whether a handler call is measured: the runner reads the clock only then. */
export function handlerObserved(): boolean {
  return handlerChannel.hasSubscribers
}

/** A processed message, with its SentTimestamp when it has one (read only when subscribed). */
function publishProcessed(queueUrl: string, message: Message | undefined): void {
  if (processedChannel.hasSubscribers) {
    const sent = message === undefined ? Number.NaN : Number(message.Attributes?.SentTimestamp)
    processedChannel.publish(
      Number.isFinite(sent) ? { queueUrl, count: 1, sentTimestamp: sent } : { queueUrl, count: 1 },
    )
  }
  publishLegacy('processed', queueUrl, 1, undefined)
}

function publishLegacy(event: ConsumerDiagnostic['event'], queueUrl: string, count: number, code?: string): void {
  if (!legacy.hasSubscribers) return
  legacy.publish(code === undefined ? { event, queueUrl, count } : { event, queueUrl, count, code })
}

/** Publishes on the event's channel and the deprecated one, each only when subscribed. */
export function publish(event: ConsumerChannelEvent, queueUrl: string, count: number, code?: string): void {
  const own = channels[event]
  if (own.hasSubscribers) own.publish(code === undefined ? { queueUrl, count } : { queueUrl, count, code })
  publishLegacy(LEGACY_EVENT[event], queueUrl, count, code)
}

export function receiveCountOf(message: Message): number {
  const count = Number(message.Attributes?.ApproximateReceiveCount)
  return Number.isSafeInteger(count) && count >= 1 ? count : 1
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value))
}

/** Counters since the consumer was created (the opener's KMS traffic is added by `metrics()`). */
export interface ConsumerCounts {
  received: number
  processed: number
  failed: number
  quarantined: number
  transientRetries: number
  inFlight: number
  maxInFlight: number
}

/**
 * What every collaborator reports through: the consumer's events, the diagnostics channels, the
 * logger and the counters, in one place so that they always agree.
 */
export class ConsumerReporter {
  readonly counts: ConsumerCounts = {
    received: 0,
    processed: 0,
    failed: 0,
    quarantined: 0,
    transientRetries: 0,
    inFlight: 0,
    maxInFlight: 0,
  }
  readonly #emitter: EventEmitter<ConsumerEvents>
  readonly logger: ConsumerLogger | undefined
  #idleWaiters: Array<() => void> = []

  constructor(emitter: EventEmitter<ConsumerEvents>, logger: ConsumerLogger | undefined) {
    this.#emitter = emitter
    this.logger = logger
  }

  /** Ids of a message for events: never its body. */
  ref(message: Message, queueUrl: string): MessageRef {
    return { messageId: message.MessageId ?? '', queueUrl, receiveCount: receiveCountOf(message) }
  }

  /** A failure outside one message's handler: logged, and emitted when someone listens. */
  error(error: Error, queueUrl: string, messages: readonly Message[] | undefined): void {
    this.logger?.error('sqs-envelope consumer error', { queueUrl, name: error.name, message: error.message })
    if (this.#emitter.listenerCount('error') === 0) return
    const messageIds = messages?.map((m) => m.MessageId ?? '')
    this.#emitter.emit('error', error, messageIds ? { queueUrl, messageIds } : { queueUrl })
  }

  received(queueUrl: string, messages: readonly Message[]): void {
    const counts = this.counts
    counts.received += messages.length
    counts.inFlight += messages.length
    if (counts.inFlight > counts.maxInFlight) counts.maxInFlight = counts.inFlight
    publish('message_received', queueUrl, messages.length)
    if (this.#emitter.listenerCount('message_received') > 0) {
      for (const message of messages) this.#emitter.emit('message_received', this.ref(message, queueUrl))
    }
  }

  /** `message` (when given) is read for its SentTimestamp only: see {@link ConsumerChannelMessage}. */
  processed(ref: MessageRef, message?: Message): void {
    this.counts.processed++
    publishProcessed(ref.queueUrl, message)
    this.#emitter.emit('message_processed', ref)
  }

  /** A handled job was deleted: as processed(), its ref built only when someone listens (this runs per message). */
  deleted(message: Message, queueUrl: string): void {
    this.counts.processed++
    publishProcessed(queueUrl, message)
    if (this.#emitter.listenerCount('message_processed') > 0) {
      this.#emitter.emit('message_processed', this.ref(message, queueUrl))
    }
  }

  /**
   * A handler threw (`failed`), timed out (`timeout`) or was aborted by stop() (`aborted`, no event):
   * counted as failed, and `processing_error` or `timeout_error` per message.
   */
  handlerFailed(
    error: unknown,
    kind: 'failed' | 'timeout' | 'aborted',
    queueUrl: string,
    messages: readonly Message[],
  ) {
    this.counts.failed += messages.length
    if (kind === 'aborted') {
      publishLegacy('failed', queueUrl, messages.length, undefined)
      return
    }
    publish(kind === 'timeout' ? 'timeout_error' : 'processing_error', queueUrl, messages.length)
    for (const message of messages) {
      const ref = this.ref(message, queueUrl)
      if (kind === 'timeout') this.#emitter.emit('timeout_error', error as SqsEnvelopeError, ref)
      else this.#emitter.emit('processing_error', asError(error), ref)
    }
  }

  transient(error: SqsEnvelopeError, message: Message, queueUrl: string, seconds: number): void {
    this.counts.transientRetries++
    this.logger?.debug?.('sqs-envelope consumer: transient failure, retry later', {
      code: error.code,
      messageId: message.MessageId,
      retryInSeconds: seconds,
    })
    publish('transient_error', queueUrl, 1, error.code)
    this.#emitter.emit('transient_error', error, {
      ...this.ref(message, queueUrl),
      code: error.code,
      retryInSeconds: seconds,
    })
  }

  /** Emits on the consumer (quarantine and breaker events, `empty`). */
  get emitter(): EventEmitter<ConsumerEvents> {
    return this.#emitter
  }

  /** A handler call ended, started at `startedAt` (`performance.now()`); call only when {@link handlerObserved}. */
  handlerFinished(queueUrl: string, count: number, startedAt: number, outcome: HandlerOutcome): void {
    const message: HandlerFinishedMessage = { queueUrl, count, durationMs: performance.now() - startedAt, outcome }
    handlerChannel.publish(message)
  }

  /** `count` messages are done (handled, failed, moved or released). */
  finished(count: number, queueUrl?: string): void {
    if (settledChannel.hasSubscribers) settledChannel.publish({ queueUrl, count })
    this.counts.inFlight -= count
    if (this.counts.inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters
      this.#idleWaiters = []
      for (const resolve of waiters) resolve()
    }
  }

  /** Resolves when no message is in flight (at once when none is). */
  onIdle(): Promise<void> {
    if (this.counts.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }
}
