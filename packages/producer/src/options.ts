import type { SQSClient } from '@aws-sdk/client-sqs'
import {
  type EnvelopeSealer,
  type MetricsOptions,
  type SealerOptions,
  SqsEnvelopeError,
  type TracingOptions,
} from '@sqs-envelope/core'
import {
  booleanOption,
  contentTypeOption,
  describeValue,
  integerOption,
  invalidOption,
  queueUrlOption,
  timerOption,
} from '@sqs-envelope/core/internal'
import type { ContentType } from '@sqs-envelope/core/wire'

/**
 * What every producer takes, whichever way it seals. Durations are in ms, at most 2147483647
 * (why: core's `MAX_TIMER_MS`).
 */
export interface ProducerBaseOptions<C extends ContentType = 'text'> extends TracingOptions, MetricsOptions {
  /** URL of the queue to send to. Required. */
  readonly queueUrl: string
  /**
   * The SQS client. An injected client is used as it is and never destroyed by us; when its own
   * SDK retries are on (`maxAttempts` > 1, the SDK's default), they retry a failed request and ours
   * do not (failed entries of an answered request are always retried by us).
   * @defaultValue an `SQSClient` built from `region` and `endpoint`, with SDK retries off (ours apply)
   */
  readonly sqs?: SQSClient
  /** Region of the clients built when `sqs` (or `kms`) is absent. @defaultValue the SDK's (AWS_REGION, profile) */
  readonly region?: string
  /** Endpoint of the clients built when absent, e.g. LocalStack's. @defaultValue the SDK's (AWS_ENDPOINT_URL, AWS) */
  readonly endpoint?: string
  /** How a payload is encoded when its message does not say. @defaultValue `'text'` */
  readonly contentType?: C
  /** Most entries per SendMessageBatch request, as in sqs-producer. Integer 1–10. @defaultValue 10 */
  readonly batchSize?: number
  /** Most SendMessageBatch requests in flight at once, per producer. Integer ≥ 1. @defaultValue 10 */
  readonly concurrency?: number
  /**
   * Attempts per message on throttling, SQS 5xx and network errors, the first included. Only the
   * failed entries of a batch are sent again. Integer ≥ 1. @defaultValue 5
   */
  readonly sqsMaxAttempts?: number
  /** Base of the exponential backoff between attempts ("equal jitter"), in ms. Integer ≥ 0. @defaultValue 50 */
  readonly sqsRetryBaseDelayMs?: number
  /** Cap of one backoff, in ms. Integer ≥ sqsRetryBaseDelayMs. @defaultValue 2000 */
  readonly sqsRetryMaxDelayMs?: number
  /**
   * Longest wait for one SQS request (and, with a sealer built from these options, one KMS request)
   * before it is abandoned as a retryable failure that may have been sent. Integer ≥ 1.
   * @defaultValue 10000
   */
  readonly requestTimeoutMs?: number
  /**
   * FIFO queues: give every message without its own `deduplicationId` one derived from its
   * plaintext with HMAC-SHA256 under `deduplicationSecret`, so that sending the same job twice
   * within SQS's 5-minute window delivers it once. (SQS's own content-based deduplication hashes
   * the body, which is random ciphertext: it never matches.) Needs `deduplicationSecret`.
   * @defaultValue the queue's `ContentBasedDeduplication` attribute
   */
  readonly contentBasedDeduplication?: boolean
  /**
   * Secret key of the deduplication HMAC, at least 16 bytes (a string counts its UTF-8 bytes).
   * Keep it as secret as the payloads: with it, anyone can test guesses of a payload against ids.
   * Every producer of a queue must use the same one for their ids to match. @defaultValue none
   */
  readonly deduplicationSecret?: string | Uint8Array
  /**
   * With tracing on, also carry each job's trace context in W3C `traceparent` / `tracestate`
   * message attributes, when the message has room for them under SQS's 10 attributes and its size
   * limit. The `AWSTraceHeader` system attribute carries it in any case (it takes no attribute slot).
   * @defaultValue false
   */
  readonly traceAttributes?: boolean
}

/** A producer that seals with an {@link EnvelopeSealer} it builds from these options. */
export interface ProducerSealingOptions<C extends ContentType = 'text'>
  extends ProducerBaseOptions<C>,
    Omit<SealerOptions, 'contentType'> {
  readonly sealer?: undefined
}

/** A producer that seals with your {@link EnvelopeSealer} (it stays yours: `close()` leaves it open). */
export interface ProducerWithSealerOptions<C extends ContentType = 'text'> extends ProducerBaseOptions<C> {
  readonly sealer: EnvelopeSealer
  readonly kmsKeyId?: undefined
}

/** Options of {@link Producer}: `kmsKeyId` (and the sealer's options), or a `sealer`. */
export type ProducerOptions<C extends ContentType = 'text'> = ProducerSealingOptions<C> | ProducerWithSealerOptions<C>

/** The defaults, in one place. */
export const PRODUCER_DEFAULTS = {
  contentType: 'text',
  batchSize: 10,
  concurrency: 10,
  sqsMaxAttempts: 5,
  sqsRetryBaseDelayMs: 50,
  sqsRetryMaxDelayMs: 2000,
  requestTimeoutMs: 10_000,
  traceAttributes: false,
} as const satisfies Partial<Record<keyof ProducerBaseOptions, unknown>>

/** Fewest bytes a deduplication secret may have. */
export const MIN_DEDUPLICATION_SECRET_BYTES = 16

export interface ResolvedProducerOptions {
  readonly queueUrl: string
  readonly contentType: ContentType
  readonly batchSize: number
  readonly concurrency: number
  readonly sqsMaxAttempts: number
  readonly sqsRetryBaseDelayMs: number
  readonly sqsRetryMaxDelayMs: number
  readonly requestTimeoutMs: number
  readonly contentBasedDeduplication: boolean | undefined
  /** The secret's bytes, copied; the caller may wipe its own. */
  readonly deduplicationSecret: Uint8Array | undefined
  readonly traceAttributes: boolean
}

/** Validates and resolves the producer's own options; the sealer validates its own. */
export function resolveProducerOptions(options: ProducerOptions<ContentType>): ResolvedProducerOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options as unknown)
  const { kmsKeyId } = options as { kmsKeyId?: unknown }
  const queueUrl = queueUrlOption('queueUrl', options.queueUrl)
  if (options.sealer !== undefined && kmsKeyId !== undefined) {
    throw invalidOption('kmsKeyId', 'absent when a sealer is given (the sealer names its key)', kmsKeyId)
  }
  if (options.sealer === undefined && kmsKeyId === undefined) {
    throw invalidOption('kmsKeyId', 'a KMS key id, ARN or alias (or give a sealer)', kmsKeyId)
  }
  const contentType = contentTypeOption('contentType', options.contentType, PRODUCER_DEFAULTS.contentType)
  const sqsRetryBaseDelayMs = timerOption(
    'sqsRetryBaseDelayMs',
    options.sqsRetryBaseDelayMs,
    PRODUCER_DEFAULTS.sqsRetryBaseDelayMs,
    0,
  )
  const sqsRetryMaxDelayMs = timerOption(
    'sqsRetryMaxDelayMs',
    options.sqsRetryMaxDelayMs,
    Math.max(PRODUCER_DEFAULTS.sqsRetryMaxDelayMs, sqsRetryBaseDelayMs),
    0,
  )
  if (sqsRetryMaxDelayMs < sqsRetryBaseDelayMs) {
    throw invalidOption('sqsRetryMaxDelayMs', `≥ sqsRetryBaseDelayMs (${sqsRetryBaseDelayMs})`, sqsRetryMaxDelayMs)
  }
  const { contentBasedDeduplication, deduplicationSecret } = deduplicationOptions(options)
  return {
    queueUrl,
    contentType,
    batchSize: integerOption('batchSize', options.batchSize, PRODUCER_DEFAULTS.batchSize, 1, 10),
    concurrency: integerOption('concurrency', options.concurrency, PRODUCER_DEFAULTS.concurrency, 1),
    sqsMaxAttempts: integerOption('sqsMaxAttempts', options.sqsMaxAttempts, PRODUCER_DEFAULTS.sqsMaxAttempts, 1),
    sqsRetryBaseDelayMs,
    sqsRetryMaxDelayMs,
    requestTimeoutMs: timerOption('requestTimeoutMs', options.requestTimeoutMs, PRODUCER_DEFAULTS.requestTimeoutMs),
    contentBasedDeduplication,
    deduplicationSecret,
    traceAttributes: booleanOption('traceAttributes', options.traceAttributes, PRODUCER_DEFAULTS.traceAttributes),
  }
}

/** `contentBasedDeduplication` and a copy of the secret's bytes; never the secret in a message. */
function deduplicationOptions(
  options: ProducerBaseOptions<ContentType>,
): Pick<ResolvedProducerOptions, 'contentBasedDeduplication' | 'deduplicationSecret'> {
  const cbd = options.contentBasedDeduplication
  if (cbd !== undefined && typeof cbd !== 'boolean') throw invalidOption('contentBasedDeduplication', 'a boolean', cbd)
  const secret = options.deduplicationSecret
  let secretBytes: Uint8Array | undefined
  if (secret !== undefined) {
    const bytes = typeof secret === 'string' ? Buffer.from(secret) : secret instanceof Uint8Array ? secret : undefined
    if (bytes === undefined || bytes.byteLength < MIN_DEDUPLICATION_SECRET_BYTES) {
      // Never the secret itself in the message: only its type and length.
      throw new SqsEnvelopeError(
        'OPTION_INVALID',
        `deduplicationSecret must be a string or Uint8Array of at least ${MIN_DEDUPLICATION_SECRET_BYTES} bytes; received ${
          bytes === undefined
            ? describeValue(typeof secret === 'object' ? secret : typeof secret)
            : `${bytes.byteLength} bytes`
        }`,
      )
    }
    secretBytes = Uint8Array.from(bytes)
  }
  if (cbd === true && secretBytes === undefined) {
    throw new SqsEnvelopeError(
      'OPTION_INVALID',
      'contentBasedDeduplication needs deduplicationSecret: the body is random ciphertext, so SQS cannot deduplicate ' +
        'on it, and an unkeyed hash of the payload would tell anyone who reads the queue which jobs are equal (and let ' +
        'them test guesses of small payloads); the producer derives ids with HMAC-SHA256 under that secret instead',
    )
  }
  return { contentBasedDeduplication: cbd, deduplicationSecret: secretBytes }
}
