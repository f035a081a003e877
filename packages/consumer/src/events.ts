import type { SqsEnvelopeError, SqsEnvelopeErrorCode } from '@sqs-envelope/core'

/** Ids of a message, for events: never its body or payload. */
export interface MessageRef {
  readonly messageId: string
  readonly queueUrl: string
  readonly receiveCount: number
}

export interface QuarantineEvent extends MessageRef {
  /** Why it can never be opened. */
  readonly code: SqsEnvelopeErrorCode
  /** Where it was moved; `undefined` when there was nowhere to move it (then it stays in the source queue). */
  readonly quarantineQueueUrl: string | undefined
  /** True when it was sent there and deleted from the source. */
  readonly moved: boolean
}

export interface TransientEvent extends MessageRef {
  readonly code: SqsEnvelopeErrorCode
  /** The visibility timeout set: when the message comes back. */
  readonly retryInSeconds: number
}

/** Every event of {@link EnvelopeConsumer}, with its arguments. None carries plaintext or key bytes. */
export interface ConsumerEvents {
  /** `start()` ran. */
  started: []
  /** `stop()` finished: nothing is in flight. */
  stopped: []
  /** A receive returned no message. */
  empty: [{ readonly queueUrl: string }]
  /** A message was received (before it is opened). */
  message_received: [MessageRef]
  /** A job was handled and deleted. */
  message_processed: [MessageRef]
  /** A handler threw; the message stays for redelivery. */
  processing_error: [Error, MessageRef]
  /** A handler ran past `handlerTimeoutMs`; its signal was aborted and the message stays for redelivery. */
  timeout_error: [SqsEnvelopeError, MessageRef]
  /** A failure that is not about one message: SQS calls, quarantine sends, the breaker. */
  error: [Error, { readonly queueUrl: string; readonly messageIds?: readonly string[] }]
  /** A message that can never be opened was moved intact to quarantine, or (with nowhere to move it) left in place. */
  message_quarantined: [QuarantineEvent]
  /** A message could not be opened for a cause that may pass; its visibility was set to a backoff. */
  transient_error: [SqsEnvelopeError, TransientEvent]
  /** The KMS breaker opened (suspect failures in a row) or closed (a probe succeeded). */
  breaker_opened: [{ readonly streak: number }]
  breaker_closed: []
}

/** A snapshot of counters since the consumer was created. */
export interface ConsumerMetrics {
  readonly received: number
  /** Handled and deleted. */
  readonly processed: number
  /** Handler failures and timeouts (left for redelivery). */
  readonly failed: number
  /** Moved to quarantine. */
  readonly quarantined: number
  /** Opens that failed transiently and were given a visibility backoff. */
  readonly transientRetries: number
  /** Messages received and not yet finished (handled, failed, moved or released). */
  readonly inFlight: number
  /** The most in flight at once so far. */
  readonly maxInFlight: number
  /** KMS Decrypt requests of the shared opener (retries included). */
  readonly kmsDecryptCalls: number
  /** Share of opens served from the unwrap cache, 0–1 (0 before any open). */
  readonly cacheHitRatio: number
  readonly breaker: 'closed' | 'open' | 'half-open'
}
