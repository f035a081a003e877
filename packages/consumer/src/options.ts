import type { MessageSystemAttributeName, SQSClient } from '@aws-sdk/client-sqs'
import type { MetricsOptions, OpenerOptions, TracingOptions } from '@sqs-envelope/core'
import { describeValue, integerOption, invalidOption, queueUrlOption, timerOption } from '@sqs-envelope/core/internal'
import { type BackoffOptions, MAX_VISIBILITY_TIMEOUT_SECONDS, type ResolvedBackoff } from './backoff.ts'
import type { HandlerOptions } from './handler.ts'
import type { MessageOpener } from './opening.ts'
import type { PollerFactory } from './poller.ts'

/** Where log lines go; `console` fits. Nothing logged carries plaintext or key bytes. */
export interface ConsumerLogger {
  debug?(message: string, details?: Record<string, unknown>): void
  warn(message: string, details?: Record<string, unknown>): void
  error(message: string, details?: Record<string, unknown>): void
}

/**
 * Options of {@link EnvelopeConsumer}. Names shared with `sqs-consumer` mean the same; ours carry
 * their unit. The opener's options (`kms`, `allowedKmsKeyArns`, `requiredEncryptionContext`,
 * `kmsConcurrency`, …) apply to the one opener all pollers share. Options in ms that become timers
 * stop at 2147483647 (why: core's `MAX_TIMER_MS`).
 */
export interface ConsumerOptions<T = unknown> extends OpenerOptions, HandlerOptions<T>, TracingOptions, MetricsOptions {
  /** The queue, or queues, to consume. Each gets `pollers` pollers. Required. */
  readonly queueUrl: string | readonly string[]
  /** The SQS client; used as given and never destroyed by us. @defaultValue an `SQSClient` from `region` and `endpoint` (SDK standard retries, 3 attempts) */
  readonly sqs?: SQSClient
  /** Endpoint of every client this consumer builds: SQS, and KMS when it builds the opener (e.g. LocalStack's). @defaultValue AWS's */
  readonly endpoint?: string
  /** @deprecated Use `endpoint`. Endpoint of the SQS client only; still wins over `endpoint` for SQS. @defaultValue `endpoint` */
  readonly sqsEndpoint?: string
  /** Longest wait for one SQS or KMS request, in ms (a long poll gets `waitTimeSeconds` more); then it fails as unreachable. Integer from 1. @defaultValue 10000 */
  readonly requestTimeoutMs?: number
  /** An `EnvelopeOpener` to share with other consumers; its options then come from it, not from these. @defaultValue one built from these options */
  readonly opener?: MessageOpener
  /** Builds each receive loop; the default runs one `sqs-consumer` instance per poller. @defaultValue `defaultPollerFactory` */
  readonly pollerFactory?: PollerFactory
  /** Receive loops per queue. Integer 1–64. @defaultValue 4 */
  readonly pollers?: number
  /** Messages per ReceiveMessage (SQS's `MaxNumberOfMessages`). Integer 1–10. @defaultValue 10 */
  readonly batchSize?: number
  /** Long-poll wait of each ReceiveMessage, in seconds. Integer 1–20. @defaultValue 20 */
  readonly waitTimeSeconds?: number
  /** Visibility timeout requested on receive and renewed by heartbeats, in seconds. Integer 1–43200. @defaultValue the queue's */
  readonly visibilityTimeout?: number
  /**
   * Renew the visibility of jobs in progress this often from their receipt, in seconds. Needs
   * `visibilityTimeout`, with `stragglerAfterMs + heartbeatInterval·1000 < visibilityTimeout·1000`.
   * @defaultValue no heartbeat
   */
  readonly heartbeatInterval?: number
  /** More system attributes to receive (ApproximateReceiveCount and MessageGroupId are always requested). @defaultValue none */
  readonly messageSystemAttributeNames?: readonly MessageSystemAttributeName[]
  /** Abort a handler's signal and count it as failed after this many ms. Integer from 1. @defaultValue no timeout */
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
  /** Suspect failures in a row, with no successful open between and no evidence against their data key, before the breaker opens (see the README's breaker rule). Integer ≥ 0. @defaultValue 3 */
  readonly breakerThreshold?: number
  /** First wait of an open breaker before a probe, in ms. Integer from 1. @defaultValue 1000 */
  readonly breakerProbeBaseDelayMs?: number
  /** Longest wait between probes of an open breaker, in ms. Integer from breakerProbeBaseDelayMs. @defaultValue 60000 */
  readonly breakerProbeMaxDelayMs?: number
  /**
   * How long a poller waits for the slowest jobs of its batch before polling again, in ms: past it, the
   * unfinished jobs run on detached (at most `pollers × batchSize` at a time) and are deleted when they
   * resolve. Per-message handlers on standard queues only (a batch handler, or FIFO order, holds the
   * poller). Integer from 1. @defaultValue 1000
   */
  readonly stragglerAfterMs?: number
  /** Time `stop()` lets in-flight work run before aborting handler signals and pending requests, in ms. Integer from 0. @defaultValue 30000 */
  readonly drainTimeoutMs?: number
  /** Log lines for failures the events also report. @defaultValue none */
  readonly logger?: ConsumerLogger
}

/** The defaults of {@link ConsumerOptions}, resolved in one place. */
export const CONSUMER_DEFAULTS = {
  pollers: 4,
  batchSize: 10,
  waitTimeSeconds: 20,
  requestTimeoutMs: 10_000,
  transientBackoff: { baseDelaySeconds: 2, maxDelaySeconds: 300 },
  breakerThreshold: 3,
  breakerProbeBaseDelayMs: 1000,
  breakerProbeMaxDelayMs: 60_000,
  drainTimeoutMs: 30_000,
  stragglerAfterMs: 1000,
} as const

export interface ResolvedConsumerOptions {
  readonly queueUrls: readonly string[]
  /** The SQS client's endpoint when we build it (`sqsEndpoint`, else `endpoint`). */
  readonly sqsEndpoint: string | undefined
  readonly requestTimeoutMs: number
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

let warnedSqsEndpoint = false

function endpointOption(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !/^https?:\/\/\S+$/.test(value)) throw invalidOption(name, 'an http(s) URL', value)
  return value
}

/** `sqsEndpoint` wins for SQS, as before; it is deprecated once per process. */
function sqsEndpointOption(options: ConsumerOptions<unknown>): string | undefined {
  const endpoint = endpointOption('endpoint', options.endpoint)
  const sqsEndpoint = endpointOption('sqsEndpoint', options.sqsEndpoint)
  if (sqsEndpoint === undefined) return endpoint
  if (!warnedSqsEndpoint) {
    warnedSqsEndpoint = true
    process.emitWarning('The consumer option sqsEndpoint is deprecated: use endpoint (SQS and KMS)', {
      type: 'DeprecationWarning',
      code: 'SQS_ENVELOPE_DEP_SQS_ENDPOINT',
    })
  }
  return sqsEndpoint
}

function optionalInteger(name: string, value: unknown, min: number, max?: number): number | undefined {
  return value === undefined ? undefined : integerOption(name, value, 0, min, max)
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

function queueUrlsOption(value: unknown): string[] {
  const urls = typeof value === 'string' ? [value] : value
  if (!Array.isArray(urls) || urls.length === 0) {
    throw invalidOption('queueUrl', 'a queue URL or a non-empty array of them', value)
  }
  const queueUrls = urls.map((url, i) => queueUrlOption(urls.length === 1 ? 'queueUrl' : `queueUrl[${i}]`, url))
  if (new Set(queueUrls).size !== queueUrls.length) {
    throw invalidOption('queueUrl', 'distinct queue URLs', 'a duplicate')
  }
  return queueUrls
}

/** Visibility, heartbeat and straggler timing: a detached job must be renewed before its visibility expires. */
function visibilityOptions(options: ConsumerOptions<unknown>, stragglerAfterMs: number) {
  const visibilityTimeout = optionalInteger('visibilityTimeout', options.visibilityTimeout, 1, 43_200)
  const heartbeatInterval = optionalInteger('heartbeatInterval', options.heartbeatInterval, 1, 43_199)
  if (heartbeatInterval === undefined) return { visibilityTimeout, heartbeatInterval }
  if (visibilityTimeout === undefined || heartbeatInterval >= visibilityTimeout) {
    throw invalidOption(
      'heartbeatInterval',
      `less than visibilityTimeout (${describeValue(visibilityTimeout)})`,
      heartbeatInterval,
    )
  }
  if (stragglerAfterMs + heartbeatInterval * 1000 >= visibilityTimeout * 1000) {
    throw invalidOption(
      'stragglerAfterMs',
      `such that stragglerAfterMs + heartbeatInterval·1000 < visibilityTimeout·1000 (heartbeatInterval ${heartbeatInterval}, visibilityTimeout ${visibilityTimeout}: less than ${(visibilityTimeout - heartbeatInterval) * 1000})`,
      stragglerAfterMs,
    )
  }
  return { visibilityTimeout, heartbeatInterval }
}

function systemAttributesOption(value: unknown): MessageSystemAttributeName[] {
  const names = value ?? []
  if (!Array.isArray(names) || names.some((name) => typeof name !== 'string')) {
    throw invalidOption('messageSystemAttributeNames', 'an array of SQS message system attribute names', names)
  }
  // The receive count drives backoffs; the group id lets poison reach a FIFO quarantine queue.
  return [
    ...new Set<MessageSystemAttributeName>([
      'ApproximateReceiveCount',
      'MessageGroupId',
      ...(names as MessageSystemAttributeName[]),
    ]),
  ]
}

function handlerOptions(options: ConsumerOptions<unknown>) {
  if (typeof options.handleMessage !== 'function' && typeof options.handleMessageBatch !== 'function') {
    throw invalidOption('handleMessage', 'a function (or handleMessageBatch must be)', options.handleMessage)
  }
  if (options.pollerFactory !== undefined && typeof options.pollerFactory !== 'function') {
    throw invalidOption('pollerFactory', 'a function', options.pollerFactory)
  }
  return {
    handlerTimeoutMs:
      options.handlerTimeoutMs === undefined
        ? undefined
        : timerOption('handlerTimeoutMs', options.handlerTimeoutMs, 0, 1),
    handlerErrorBackoff:
      options.handlerErrorBackoff === undefined || options.handlerErrorBackoff === false
        ? (false as const)
        : backoffOption('handlerErrorBackoff', options.handlerErrorBackoff, CONSUMER_DEFAULTS.transientBackoff),
  }
}

function breakerOptions(options: ConsumerOptions<unknown>) {
  const probeBase = timerOption(
    'breakerProbeBaseDelayMs',
    options.breakerProbeBaseDelayMs,
    CONSUMER_DEFAULTS.breakerProbeBaseDelayMs,
    1,
  )
  return {
    breakerThreshold: integerOption(
      'breakerThreshold',
      options.breakerThreshold,
      CONSUMER_DEFAULTS.breakerThreshold,
      0,
    ),
    breakerProbeBaseDelayMs: probeBase,
    breakerProbeMaxDelayMs: timerOption(
      'breakerProbeMaxDelayMs',
      options.breakerProbeMaxDelayMs,
      Math.max(CONSUMER_DEFAULTS.breakerProbeMaxDelayMs, probeBase),
      probeBase,
    ),
  }
}

/** Checks every consumer option and fills in the defaults, in one place. */
export function resolveConsumerOptions(options: ConsumerOptions<unknown>): ResolvedConsumerOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options)
  const queueUrls = queueUrlsOption(options.queueUrl)
  const handlers = handlerOptions(options)
  const stragglerAfterMs = timerOption(
    'stragglerAfterMs',
    options.stragglerAfterMs,
    CONSUMER_DEFAULTS.stragglerAfterMs,
    1,
  )
  const d = CONSUMER_DEFAULTS
  return {
    queueUrls,
    sqsEndpoint: sqsEndpointOption(options),
    requestTimeoutMs: timerOption('requestTimeoutMs', options.requestTimeoutMs, d.requestTimeoutMs, 1),
    pollers: integerOption('pollers', options.pollers, d.pollers, 1, 64),
    batchSize: integerOption('batchSize', options.batchSize, d.batchSize, 1, 10),
    waitTimeSeconds: integerOption('waitTimeSeconds', options.waitTimeSeconds, d.waitTimeSeconds, 1, 20),
    ...visibilityOptions(options, stragglerAfterMs),
    messageSystemAttributeNames: systemAttributesOption(options.messageSystemAttributeNames),
    ...handlers,
    quarantineQueueUrl:
      options.quarantineQueueUrl === undefined
        ? undefined
        : queueUrlOption('quarantineQueueUrl', options.quarantineQueueUrl),
    transientBackoff: backoffOption('transientBackoff', options.transientBackoff, d.transientBackoff),
    ...breakerOptions(options),
    drainTimeoutMs: timerOption('drainTimeoutMs', options.drainTimeoutMs, d.drainTimeoutMs, 0),
    stragglerAfterMs,
  }
}
