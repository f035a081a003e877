import type { SQSClient } from '@aws-sdk/client-sqs'
// Types only from the consumer's root: its runtime (sqs-consumer) stays out of a function's cold start.
import type { ConsumerLogger, HandlerOptions } from '@sqs-envelope/consumer'
import {
  CORE_DEFAULTS,
  type EnvelopeOpener,
  type MetricsOptions,
  type OpenerOptions,
  type TracingOptions,
} from '@sqs-envelope/core'
import { booleanOption, integerOption, invalidOption, queueUrlOption, timerOption } from '@sqs-envelope/core/internal'

/**
 * Options of {@link createSqsHandler}: the consumer's handler contract and opener options
 * (`allowedKmsKeyArns`, `requiredEncryptionContext`, `kms`, `kmsConcurrency`, …) for the one
 * opener every invocation of a warm environment shares. `region`, `endpoint` and
 * `requestTimeoutMs` apply to the SQS client too.
 */
export interface LambdaHandlerOptions<T = unknown>
  extends OpenerOptions,
    HandlerOptions<T>,
    TracingOptions,
    MetricsOptions {
  /** An opener to share; its options then come from it, not from these. @defaultValue one built from these options */
  readonly opener?: EnvelopeOpener
  /** The SQS client (queue URL and DLQ look-ups, quarantine sends); never destroyed by us. @defaultValue an `SQSClient` from `region` and `endpoint` */
  readonly sqs?: SQSClient
  /**
   * Where permanently unopenable records go, intact. @defaultValue the source queue's DLQ from its
   * RedrivePolicy; with none, such records are reported as failures (redelivered, never lost)
   */
  readonly quarantineQueueUrl?: string
  /** Records opened and handled at once within one invocation. Integer 1–10000. @defaultValue 10 */
  readonly concurrency?: number
  /**
   * Abort the handlers' `signal` this many ms before the invocation's time runs out
   * (`context.getRemainingTimeInMillis()`), and report what has not finished as failures.
   * Integer from 0 to 2147483647. @defaultValue 1000
   */
  readonly timeoutMarginMs?: number
  /** Abort a handler's signal and count it as failed after this many ms. Integer from 1 to 2147483647. @defaultValue no timeout but the invocation's */
  readonly handlerTimeoutMs?: number
  /**
   * FIFO queues: after a record that is not done, report only the later records of its message
   * group as failures, and go on with the other groups. @defaultValue false (every later record of the batch)
   */
  readonly skipGroupOnError?: boolean
  /** Suspect failures in a row (access denied, key disabled, not allowed, context mismatch, …) with no open between before the breaker opens. Integer ≥ 0. @defaultValue 3 */
  readonly breakerThreshold?: number
  /** First wait of an open breaker before an invocation probes it, in ms. Integer from 1 to 2147483647. @defaultValue 1000 */
  readonly breakerProbeBaseDelayMs?: number
  /** Longest wait between probes of an open breaker, in ms. Integer from breakerProbeBaseDelayMs to 2147483647. @defaultValue 60000 */
  readonly breakerProbeMaxDelayMs?: number
  /** Log lines for failures the events also report. @defaultValue none */
  readonly logger?: ConsumerLogger
}

/** The defaults, in one place; the breaker's equal `CONSUMER_DEFAULTS`' (options.test.ts checks). */
export const LAMBDA_DEFAULTS = {
  concurrency: 10,
  timeoutMarginMs: 1000,
  skipGroupOnError: false,
  requestTimeoutMs: CORE_DEFAULTS.requestTimeoutMs,
  breakerThreshold: 3,
  breakerProbeBaseDelayMs: 1000,
  breakerProbeMaxDelayMs: 60_000,
} as const

export interface ResolvedLambdaOptions {
  readonly quarantineQueueUrl: string | undefined
  readonly concurrency: number
  readonly timeoutMarginMs: number
  readonly handlerTimeoutMs: number | undefined
  readonly skipGroupOnError: boolean
  readonly requestTimeoutMs: number
  readonly breakerThreshold: number
  readonly breakerProbeBaseDelayMs: number
  readonly breakerProbeMaxDelayMs: number
}

function loggerOption(value: unknown): void {
  if (value === undefined) return
  const logger = value as Partial<ConsumerLogger> | null
  if (
    typeof logger !== 'object' ||
    logger === null ||
    typeof logger.warn !== 'function' ||
    typeof logger.error !== 'function'
  ) {
    throw invalidOption('logger', 'an object with warn() and error() (console fits)', value)
  }
}

/** Checks the options this package adds and fills in their defaults (the opener checks its own). */
export function resolveLambdaOptions<T>(options: LambdaHandlerOptions<T>): ResolvedLambdaOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options)
  if (typeof options.handleMessage !== 'function' && typeof options.handleMessageBatch !== 'function') {
    throw invalidOption('handleMessage', 'a function (or handleMessageBatch must be)', options.handleMessage)
  }
  loggerOption(options.logger)
  const probeBase = timerOption(
    'breakerProbeBaseDelayMs',
    options.breakerProbeBaseDelayMs,
    LAMBDA_DEFAULTS.breakerProbeBaseDelayMs,
  )
  return {
    quarantineQueueUrl:
      options.quarantineQueueUrl === undefined
        ? undefined
        : queueUrlOption('quarantineQueueUrl', options.quarantineQueueUrl),
    concurrency: integerOption('concurrency', options.concurrency, LAMBDA_DEFAULTS.concurrency, 1, 10_000),
    timeoutMarginMs: timerOption('timeoutMarginMs', options.timeoutMarginMs, LAMBDA_DEFAULTS.timeoutMarginMs, 0),
    handlerTimeoutMs:
      options.handlerTimeoutMs === undefined ? undefined : timerOption('handlerTimeoutMs', options.handlerTimeoutMs, 0),
    skipGroupOnError: booleanOption('skipGroupOnError', options.skipGroupOnError, LAMBDA_DEFAULTS.skipGroupOnError),
    requestTimeoutMs: timerOption('requestTimeoutMs', options.requestTimeoutMs, LAMBDA_DEFAULTS.requestTimeoutMs),
    breakerThreshold: integerOption('breakerThreshold', options.breakerThreshold, LAMBDA_DEFAULTS.breakerThreshold, 0),
    breakerProbeBaseDelayMs: probeBase,
    breakerProbeMaxDelayMs: timerOption(
      'breakerProbeMaxDelayMs',
      options.breakerProbeMaxDelayMs,
      Math.max(LAMBDA_DEFAULTS.breakerProbeMaxDelayMs, probeBase),
      probeBase,
    ),
  }
}
