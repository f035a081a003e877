import type { EventEmitter } from 'node:events'
import { SQSClient } from '@aws-sdk/client-sqs'
import { EnvelopeOpener, isSqsEnvelopeError, SqsEnvelopeError } from '@sqs-envelope/core'
import {
  channelMetrics,
  clientFor,
  messagingTracer,
  type TracingOptions,
  USER_AGENT,
} from '@sqs-envelope/core/internal'
import { LambdaBreaker } from './breaker.ts'
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from './lambda-types.ts'
import { type LambdaHandlerOptions, type ResolvedLambdaOptions, resolveLambdaOptions } from './options.ts'
import { type Batch, DONE, RecordProcessor } from './processing.ts'
import { Quarantiner } from './quarantining.ts'
import { QueueDirectory } from './queues.ts'
import { isFifoArn, RecordReader } from './records.ts'
import { type LambdaEvents, LambdaReporter } from './reporting.ts'
import { Deadline } from './running.ts'
import { LambdaTracing } from './tracing.ts'

/** A snapshot of counters since the handler was created (across the invocations of a warm environment). */
export interface LambdaMetrics {
  readonly invocations: number
  readonly received: number
  /** Handled: left out of `batchItemFailures`. */
  readonly processed: number
  /** Handler failures and timeouts. */
  readonly failed: number
  /** Sent to quarantine: left out of `batchItemFailures`. */
  readonly quarantined: number
  /** Opens that failed for a cause that may pass (or a suspect one while the breaker is open). */
  readonly transientRetries: number
  /** KMS Decrypt requests of the shared opener (retries included). */
  readonly kmsDecryptCalls: number
  /** Share of opens served from the unwrap cache, 0–1 (0 before any open). */
  readonly cacheHitRatio: number
  readonly breaker: 'closed' | 'open' | 'half-open'
}

/** The Lambda handler, with its events, metrics and `close()`. */
export interface SqsHandler {
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse>
  /** Events of every invocation (see {@link LambdaEvents}). */
  readonly events: EventEmitter<LambdaEvents>
  metrics(): LambdaMetrics
  /** Releases what the handler built (the opener's keys, zero-filled; its clients); later invocations fail with CLOSED. Idempotent. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * Builds a Lambda handler for an SQS event source: each record's job is opened before your
 * handler (the consumer's `handleMessage` / `handleMessageBatch` contract), and the handler
 * resolves with a partial batch response naming the records to deliver again. Call it once, at
 * module scope: its opener (unwrap cache, single-flight, KMS limiter), clients and breaker then
 * serve every invocation of a warm environment. Options are checked here (OPTION_INVALID).
 *
 * @example
 * export const handler = createSqsHandler<{ orderId: number }>({
 *   allowedKmsKeyArns: [process.env.KMS_KEY_ARN!],
 *   handleMessage: async (order, { signal }) => ship(order.orderId, { signal }),
 * })
 */
export function createSqsHandler<T = unknown>(options: LambdaHandlerOptions<T>): SqsHandler {
  const runtime = new LambdaRuntime<T>(options)
  const close = () => runtime.close()
  return Object.assign((event: SQSEvent, context: Context) => runtime.invoke(event, context), {
    events: runtime.reporter.emitter,
    metrics: () => runtime.metrics(),
    close,
    [Symbol.asyncDispose]: close,
  })
}

class LambdaRuntime<T> {
  readonly reporter: LambdaReporter
  readonly #options: ResolvedLambdaOptions
  readonly #opener: EnvelopeOpener
  readonly #ownsOpener: boolean
  readonly #sqs: SQSClient
  readonly #ownsSqs: boolean
  readonly #directory: QueueDirectory
  readonly #breaker: LambdaBreaker
  readonly #processor: RecordProcessor<T>
  readonly #releaseMetrics: (() => void) | undefined
  #closing: Promise<void> | undefined

  constructor(options: LambdaHandlerOptions<T>) {
    this.#options = resolveLambdaOptions(options)
    this.reporter = new LambdaReporter(options.logger)
    this.#ownsOpener = options.opener === undefined
    this.#opener = options.opener ?? new EnvelopeOpener(options)
    // The SDK's standard retries (3 attempts) for these few calls, each bounded by requestTimeoutMs.
    const { region, endpoint } = options
    const { requestTimeoutMs } = this.#options
    const sqs = clientFor(SQSClient, options.sqs, { region, endpoint, requestTimeoutMs, maxAttempts: 3, sqs: true })
    this.#sqs = sqs.client
    this.#ownsSqs = sqs.owned
    this.#directory = new QueueDirectory(this.#sqs, this.#options.quarantineQueueUrl, this.#options.requestTimeoutMs)
    this.#breaker = new LambdaBreaker(this.#options, this.reporter)
    this.#processor = new RecordProcessor<T>({
      opener: this.#opener,
      reader: new RecordReader(),
      breaker: this.#breaker,
      quarantiner: new Quarantiner({
        sqs: this.#sqs,
        directory: this.#directory,
        reporter: this.reporter,
        requestTimeoutMs: this.#options.requestTimeoutMs,
      }),
      reporter: this.reporter,
      handleMessage: options.handleMessage,
      handleMessageBatch: options.handleMessageBatch,
      concurrency: this.#options.concurrency,
      skipGroupOnError: this.#options.skipGroupOnError,
      handlerTimeoutMs: this.#options.handlerTimeoutMs,
      tracing: lambdaTracing(options),
    })
    this.#releaseMetrics = channelMetrics(options)
  }

  async invoke(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    if (this.#closing) throw new SqsEnvelopeError('CLOSED', 'the handler is closed')
    const records = event?.Records
    if (!Array.isArray(records)) throw new SqsEnvelopeError('MESSAGE_INVALID', 'the event has no Records array')
    this.reporter.counts.invocations++
    const remaining =
      typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined
    const deadline = new Deadline(remaining, this.#options.timeoutMarginMs)
    const batchItemFailures: SQSBatchItemFailure[] = []
    let lastQueueUrl: string | undefined
    this.#breaker.begin()
    try {
      for (const [arn, ofQueue] of bySource(records)) {
        lastQueueUrl = (await this.#runQueue(arn, ofQueue, deadline, batchItemFailures)) ?? lastQueueUrl
      }
    } finally {
      deadline.done()
      this.#breaker.end(lastQueueUrl)
    }
    return { batchItemFailures }
  }

  /** One queue's records; pushes the ones not done to `failures`. Resolves with the queue's URL when known. */
  async #runQueue(
    arn: string,
    records: readonly SQSRecord[],
    deadline: Deadline,
    failures: SQSBatchItemFailure[],
  ): Promise<string | undefined> {
    let queueUrl: string
    try {
      queueUrl = await this.#directory.queueUrl(arn, deadline.signal)
    } catch (cause) {
      const error = isSqsEnvelopeError(cause)
        ? cause
        : new SqsEnvelopeError('SQS_UNAVAILABLE', 'the URL of the source queue could not be looked up', { cause })
      this.reporter.error(error, undefined, records)
      for (const record of records) failures.push({ itemIdentifier: record.messageId })
      return undefined
    }
    this.reporter.batch(queueUrl, records.length)
    const batch: Batch = {
      arn,
      queueUrl,
      records,
      fifo: isFifoArn(arn),
      deadline,
      states: new Uint8Array(records.length),
    }
    await this.#processor.process(batch)
    for (let i = 0; i < records.length; i++) {
      if (batch.states[i] !== DONE) failures.push({ itemIdentifier: (records[i] as SQSRecord).messageId })
    }
    return queueUrl
  }

  metrics(): LambdaMetrics {
    const kms = this.#opener.metrics()
    const opens = kms.cacheHits + kms.cacheMisses
    return {
      ...this.reporter.counts,
      kmsDecryptCalls: kms.decryptCalls,
      cacheHitRatio: opens === 0 ? 0 : kms.cacheHits / opens,
      breaker: this.#breaker.state,
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#ownsOpener) await this.#opener.close()
      if (this.#ownsSqs) this.#sqs.destroy()
      this.#releaseMetrics?.()
    })()
    return this.#closing
  }
}

/** The handler's spans; undefined when tracing is off. */
function lambdaTracing(options: TracingOptions): LambdaTracing | undefined {
  const tracer = messagingTracer('@sqs-envelope/lambda', USER_AGENT[1] ?? '0.0.0', options)
  return tracer === undefined ? undefined : new LambdaTracing(tracer)
}

/** The records by source queue ARN, in order (an event source mapping sends one queue's). */
function bySource(records: readonly SQSRecord[]): Iterable<[string, readonly SQSRecord[]]> {
  if (records.length === 0) return []
  const first = sourceOf(records[0] as SQSRecord)
  if (records.every((r) => sourceOf(r) === first)) return [[first, records]]
  const sources = new Map<string, SQSRecord[]>()
  for (const record of records) {
    const list = sources.get(sourceOf(record))
    if (list) list.push(record)
    else sources.set(sourceOf(record), [record])
  }
  return sources
}

// A record without an ARN gets '' (no queue): its look-up fails and it is reported as a failure, not lost.
function sourceOf(record: SQSRecord): string {
  return typeof record?.eventSourceARN === 'string' ? record.eventSourceARN : ''
}
