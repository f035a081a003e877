import { SqsEnvelopeError, type SqsEnvelopeErrorCode } from '@sqs-envelope/core'

/** Why one message was not sent. Never carries the payload, the body or key material. */
export class SendFailure extends SqsEnvelopeError {
  /** The SQS error code (`InvalidParameterValue`, `ThrottlingException`, …) when SQS or the SDK gave one. */
  readonly sqsCode: string | undefined
  /** Sending it again later may succeed (throttling, SQS or KMS unavailable). */
  readonly retryable: boolean
  /** A request carrying it got no clear answer (network error, 5xx): it may be in the queue. */
  readonly mayHaveBeenSent: boolean
  /** SendMessageBatch requests that carried it; 0 when it was refused before any SQS call. */
  readonly attempts: number

  constructor(
    code: SqsEnvelopeErrorCode,
    message: string,
    details: { sqsCode?: string; retryable: boolean; mayHaveBeenSent: boolean; attempts: number; cause?: unknown },
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'SendFailure'
    this.sqsCode = details.sqsCode
    this.retryable = details.retryable
    this.mayHaveBeenSent = details.mayHaveBeenSent
    this.attempts = details.attempts
  }

  override toJSON() {
    return {
      ...super.toJSON(),
      sqsCode: this.sqsCode,
      retryable: this.retryable,
      mayHaveBeenSent: this.mayHaveBeenSent,
      attempts: this.attempts,
    }
  }
}

/** A message SQS accepted. */
export interface SendSuccess {
  readonly ok: true
  /** Position of the job in the input. */
  readonly index: number
  /** The message's own `id`, when it had one. */
  readonly id?: string
  readonly messageId: string
  /** FIFO queues: the sequence number SQS gave the message. */
  readonly sequenceNumber?: string
  /** Bytes SQS counted for it: body plus attributes. */
  readonly bytes: number
}

/** A message that was not sent (or may not have been: see `error.mayHaveBeenSent`). */
export interface SendFailed {
  readonly ok: false
  readonly index: number
  readonly id?: string
  readonly error: SendFailure
}

/** One result per job, in input order. */
export type SendResult = SendSuccess | SendFailed

/** Counters since the producer was made. */
export interface ProducerMetrics {
  /** Messages SQS accepted. */
  readonly messagesSent: number
  /** Messages reported as failed (refused, sealing failed, or SQS failed them for good). */
  readonly messagesFailed: number
  /** SendMessageBatch requests made, retries included. */
  readonly batches: number
  /** Entries sent again after a retryable failure. */
  readonly retries: number
  /** Bytes SQS counted for the messages it accepted (bodies and attributes). */
  readonly bytesSent: number
  /** KMS counters of the sealer (GenerateDataKey calls, key reuse, …). */
  readonly kms: import('@sqs-envelope/core').KmsMetrics
}
