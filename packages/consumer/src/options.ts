import type { MessageSystemAttributeName, SQSClient } from '@aws-sdk/client-sqs'
import type { EnvelopeOpener, OpenerOptions } from '@sqs-envelope/core'
import { describeValue, integerOption, invalidOption } from '@sqs-envelope/core/validation'
import { type BackoffOptions, MAX_VISIBILITY_TIMEOUT_SECONDS, type ResolvedBackoff } from './backoff.ts'
import type { BatchHandler, MessageHandler } from './handler.ts'

/** Where log lines go; `console` fits. Nothing logged carries plaintext or key bytes. */
export interface ConsumerLogger {
  debug?(message: string, details?: Record<string, unknown>): void
  warn(message: string, details?: Record<string, unknown>): void
  error(message: string, details?: Record<string, unknown>): void
}

/**
 * Options of {@link EnvelopeConsumer}. Names shared with `sqs-consumer` mean the same; ours carry
 * their unit. The opener's options (`kms`, `allowedKmsKeyArns`, `requiredEncryptionContext`,
 * `kmsConcurrency`, …) apply to the one opener all pollers share.
 */
export interface ConsumerOptions<T = unknown> extends OpenerOptions {
  /** The queue, or queues, to consume. Each gets `pollers` pollers. Required. */
  readonly queueUrl: string | readonly string[]
  /** Called once per opened job; resolve to acknowledge (delete), throw to leave it for redelivery. */
  readonly handleMessage?: MessageHandler<T>
  /** Called once per received batch with the jobs that opened; takes precedence over `handleMessage`. */
  readonly handleMessageBatch?: BatchHandler<T>
  /** The SQS client; used as given and never destroyed by us. @defaultValue an `SQSClient` from `region` and `sqsEndpoint` */
  readonly sqs?: SQSClient
  /** Endpoint of the SQS client built when `sqs` is absent (e.g. LocalStack's). @defaultValue AWS's */
  readonly sqsEndpoint?: string
  /** An opener to share with other consumers; its options then come from it, not from these. @defaultValue one built from these options */
  readonly opener?: EnvelopeOpener
  /** Receive loops per queue, each one `sqs-consumer` instance. Integer 1–64. @defaultValue 4 */
  readonly pollers?: number
  /** Messages per ReceiveMessage (SQS's `MaxNumberOfMessages`). Integer 1–10. @defaultValue 10 */
  readonly batchSize?: number
  /** Long-poll wait of each ReceiveMessage, in seconds. Integer 1–20. @defaultValue 20 */
  readonly waitTimeSeconds?: number
  /** Visibility timeout requested on receive and renewed by heartbeats, in seconds. Integer 1–43200. @defaultValue the queue's */
  readonly visibilityTimeout?: number
  /** Renew the visibility of a batch in progress this often, in seconds; < visibilityTimeout. @defaultValue no heartbeat */
  readonly heartbeatInterval?: number
  /** More system attributes to receive (ApproximateReceiveCount and MessageGroupId are always requested). @defaultValue none */
  readonly messageSystemAttributeNames?: readonly MessageSystemAttributeName[]
  /** Abort a handler's signal and count it as failed after this many ms. Integer ≥ 1. @defaultValue no timeout */
  readonly handlerTimeoutMs?: number
  /**
   * Where permanently unopenable messages go, intact. @defaultValue the source queue's DLQ from its
   * RedrivePolicy; with none, such messages stay in the source queue and are reported, never deleted.
   */
  readonly quarantineQueueUrl?: string
  /** Visibility backoff of a message whose open failed transiently (KMS down or throttled), by receive count. @defaultValue `{ baseDelaySeconds: 2, maxDelaySeconds: 300 }` */
  readonly transientBackoff?: BackoffOptions
  /** Visibility backoff after a handler failure, by receive count; `false` leaves the visibility as it is (the message returns after the visibility timeout, as with Lambda). @defaultValue false */
  readonly handlerErrorBackoff?: BackoffOptions | false
  /** Suspect KMS failures in a row (access denied, key disabled or not found) still quarantined before the breaker opens. Integer ≥ 0. @defaultValue 3 */
  readonly breakerThreshold?: number
  /** First wait of an open breaker before a probe, in ms. Integer ≥ 1. @defaultValue 1000 */
  readonly breakerProbeBaseDelayMs?: number
  /** Longest wait between probes of an open breaker, in ms. Integer ≥ breakerProbeBaseDelayMs. @defaultValue 60000 */
  readonly breakerProbeMaxDelayMs?: number
  /**
   * How long a poller waits for the slowest jobs of its batch before polling again, in ms: past it, the
   * unfinished jobs run on detached (at most `pollers × batchSize` at a time) and are deleted when they
   * resolve. Per-message handlers on standard queues only (a batch handler, or FIFO order, holds the
   * poller). Integer ≥ 1. @defaultValue 1000
   */
  readonly stragglerAfterMs?: number
  /** Time `stop()` lets in-flight handlers run before aborting their signals, in ms. Integer ≥ 0. @defaultValue 30000 */
  readonly drainTimeoutMs?: number
  /** Log lines for failures the events also report. @defaultValue none */
  readonly logger?: ConsumerLogger
}

export const CONSUMER_DEFAULTS = {
  pollers: 4,
  batchSize: 10,
  waitTimeSeconds: 20,
  transientBackoff: { baseDelaySeconds: 2, maxDelaySeconds: 300 },
  breakerThreshold: 3,
  breakerProbeBaseDelayMs: 1000,
  breakerProbeMaxDelayMs: 60_000,
  drainTimeoutMs: 30_000,
  stragglerAfterMs: 1000,
} as const

export interface ResolvedConsumerOptions {
  readonly queueUrls: readonly string[]
  readonly pollers: number
  readonly batchSize: number
  readonly waitTimeSeconds: number
  readonly visibilityTimeout: number | undefined
  readonly heartbeatInterval: number | undefined
  readonly messageSystemAttributeNames: readonly MessageSystemAttributeName[]
  readonly handlerTimeoutMs: number | undefined
  readonly quarantineQueueUrl: string | undefined
  readonly transientBackoff: ResolvedBackoff
  readonly handlerErrorBackoff: ResolvedBackoff | false
  readonly breakerThreshold: number
  readonly breakerProbeBaseDelayMs: number
  readonly breakerProbeMaxDelayMs: number
  readonly drainTimeoutMs: number
  readonly stragglerAfterMs: number
}

function optionalInteger(name: string, value: unknown, min: number, max?: number): number | undefined {
  return value === undefined ? undefined : integerOption(name, value, 0, min, max)
}

function queueUrlOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || !/^https?:\/\/\S+$/.test(value))
    throw invalidOption(name, 'an http(s) SQS queue URL', value)
  return value
}

function backoffOption(name: string, value: unknown, fallback: ResolvedBackoff): ResolvedBackoff {
  if (value === undefined) return fallback
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(name, 'an object { baseDelaySeconds, maxDelaySeconds }', value)
  }
  const options = value as BackoffOptions
  const max = MAX_VISIBILITY_TIMEOUT_SECONDS
  const baseDelaySeconds = integerOption(
    `${name}.baseDelaySeconds`,
    options.baseDelaySeconds,
    fallback.baseDelaySeconds,
    0,
    max,
  )
  const maxDelaySeconds = integerOption(
    `${name}.maxDelaySeconds`,
    options.maxDelaySeconds,
    Math.max(fallback.maxDelaySeconds, baseDelaySeconds),
    baseDelaySeconds,
    max,
  )
  return { baseDelaySeconds, maxDelaySeconds }
}

/** Checks every consumer option and fills in the defaults, in one place. */
export function resolveConsumerOptions(options: ConsumerOptions<unknown>): ResolvedConsumerOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options)
  const urls = typeof options.queueUrl === 'string' ? [options.queueUrl] : options.queueUrl
  if (!Array.isArray(urls) || urls.length === 0) {
    throw invalidOption('queueUrl', 'a queue URL or a non-empty array of them', options.queueUrl)
  }
  const queueUrls = urls.map((url, i) => queueUrlOption(urls.length === 1 ? 'queueUrl' : `queueUrl[${i}]`, url))
  if (new Set(queueUrls).size !== queueUrls.length)
    throw invalidOption('queueUrl', 'distinct queue URLs', 'a duplicate')
  if (typeof options.handleMessage !== 'function' && typeof options.handleMessageBatch !== 'function') {
    throw invalidOption('handleMessage', 'a function (or handleMessageBatch must be)', options.handleMessage)
  }
  const visibilityTimeout = optionalInteger('visibilityTimeout', options.visibilityTimeout, 1, 43_200)
  const heartbeatInterval = optionalInteger('heartbeatInterval', options.heartbeatInterval, 1, 43_199)
  if (heartbeatInterval !== undefined && (visibilityTimeout === undefined || heartbeatInterval >= visibilityTimeout)) {
    throw invalidOption(
      'heartbeatInterval',
      `less than visibilityTimeout (${describeValue(visibilityTimeout)})`,
      heartbeatInterval,
    )
  }
  const systemNames = options.messageSystemAttributeNames ?? []
  if (!Array.isArray(systemNames) || systemNames.some((name) => typeof name !== 'string')) {
    throw invalidOption('messageSystemAttributeNames', 'an array of SQS message system attribute names', systemNames)
  }
  const probeBase = integerOption(
    'breakerProbeBaseDelayMs',
    options.breakerProbeBaseDelayMs,
    CONSUMER_DEFAULTS.breakerProbeBaseDelayMs,
    1,
  )
  const handlerErrorBackoff =
    options.handlerErrorBackoff === undefined || options.handlerErrorBackoff === false
      ? false
      : backoffOption('handlerErrorBackoff', options.handlerErrorBackoff, CONSUMER_DEFAULTS.transientBackoff)
  return {
    queueUrls,
    pollers: integerOption('pollers', options.pollers, CONSUMER_DEFAULTS.pollers, 1, 64),
    batchSize: integerOption('batchSize', options.batchSize, CONSUMER_DEFAULTS.batchSize, 1, 10),
    waitTimeSeconds: integerOption(
      'waitTimeSeconds',
      options.waitTimeSeconds,
      CONSUMER_DEFAULTS.waitTimeSeconds,
      1,
      20,
    ),
    visibilityTimeout,
    heartbeatInterval,
    // The receive count drives backoffs; the group id lets poison reach a FIFO quarantine queue.
    messageSystemAttributeNames: [
      ...new Set<MessageSystemAttributeName>(['ApproximateReceiveCount', 'MessageGroupId', ...systemNames]),
    ],
    handlerTimeoutMs: optionalInteger('handlerTimeoutMs', options.handlerTimeoutMs, 1),
    quarantineQueueUrl:
      options.quarantineQueueUrl === undefined
        ? undefined
        : queueUrlOption('quarantineQueueUrl', options.quarantineQueueUrl),
    transientBackoff: backoffOption('transientBackoff', options.transientBackoff, CONSUMER_DEFAULTS.transientBackoff),
    handlerErrorBackoff,
    breakerThreshold: integerOption(
      'breakerThreshold',
      options.breakerThreshold,
      CONSUMER_DEFAULTS.breakerThreshold,
      0,
    ),
    breakerProbeBaseDelayMs: probeBase,
    breakerProbeMaxDelayMs: integerOption(
      'breakerProbeMaxDelayMs',
      options.breakerProbeMaxDelayMs,
      Math.max(CONSUMER_DEFAULTS.breakerProbeMaxDelayMs, probeBase),
      probeBase,
    ),
    drainTimeoutMs: integerOption('drainTimeoutMs', options.drainTimeoutMs, CONSUMER_DEFAULTS.drainTimeoutMs, 0),
    stragglerAfterMs: integerOption(
      'stragglerAfterMs',
      options.stragglerAfterMs,
      CONSUMER_DEFAULTS.stragglerAfterMs,
      1,
    ),
  }
}
