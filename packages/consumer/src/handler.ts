import type { Message } from '@aws-sdk/client-sqs'
import type { ContentType, EncryptionContext } from '@sqs-envelope/core'

/** What a handler knows about one message besides its opened payload. Nothing here is secret. */
export interface MessageContext {
  /** The SQS message id. */
  readonly messageId: string
  /** The queue the message came from. */
  readonly queueUrl: string
  /** How many times SQS has delivered it (1 on the first delivery). */
  readonly receiveCount: number
  /** Every message attribute as received (ours, `SqsEnvelope.*`, included). */
  readonly messageAttributes: NonNullable<Message['MessageAttributes']>
  /** The system attributes received (ApproximateReceiveCount, MessageGroupId and those asked for in `messageSystemAttributeNames`). */
  readonly attributes: NonNullable<Message['Attributes']>
  readonly contentType: ContentType
  /** ARN of the KMS key that wrapped the data key. */
  readonly kmsKeyArn: string
  /** The encryption context KMS verified. */
  readonly encryptionContext: EncryptionContext | undefined
  /** Fires on handler timeout (`handlerTimeoutMs`) or when `stop()` gives up waiting. */
  readonly signal: AbortSignal
}

/** One opened job of a batch. */
export interface ReceivedJob<T = unknown> extends MessageContext {
  /** The opened payload: a string (text), the parsed JSON (json) or a Buffer (bytes). */
  readonly job: T
}

/** What a batch handler hands back: the ids of the jobs that failed (Lambda's `SQSBatchResponse` shape). */
export interface BatchResult {
  readonly batchItemFailures: ReadonlyArray<{ readonly itemIdentifier: string }>
}

/** Resolve: the job is acknowledged (deleted). Throw or reject: it stays for redelivery. */
export type MessageHandler<T = unknown> = (job: T, context: MessageContext) => Promise<unknown> | unknown

// biome-ignore lint/suspicious/noConfusingVoidType: an async handler that returns nothing acknowledges every job
type BatchHandlerResult = BatchResult | undefined | void

/**
 * Resolve with nothing: every job is acknowledged. Resolve with `{ batchItemFailures }`: all but
 * those are. Throw: none is.
 */
export type BatchHandler<T = unknown> = (
  jobs: ReadonlyArray<ReceivedJob<T>>,
  context: { readonly queueUrl: string; readonly signal: AbortSignal },
) => Promise<BatchHandlerResult> | BatchHandlerResult

/**
 * The ids acknowledged after a batch handler resolved with `result`. An identifier that names no
 * job of the batch is ignored; a result of the wrong shape acknowledges nothing (safe side).
 */
export function acknowledgedIds(jobIds: readonly string[], result: unknown): Set<string> {
  if (result === undefined || result === null) return new Set(jobIds)
  const failures = (result as Partial<BatchResult>).batchItemFailures
  if (!Array.isArray(failures)) return new Set()
  const failed = new Set<string>()
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier
    if (typeof id !== 'string') return new Set()
    failed.add(id)
  }
  return new Set(jobIds.filter((id) => !failed.has(id)))
}

/**
 * The handler contract shared by `EnvelopeConsumer` and `@sqs-envelope/lambda`, so that a handler
 * moves between them unchanged. Give one of the two.
 */
export interface HandlerOptions<T = unknown> {
  /** Called once per opened job; resolve to acknowledge it (deleted), throw to have it delivered again. */
  readonly handleMessage?: MessageHandler<T>
  /** Called once per received batch with the jobs that opened; takes precedence over `handleMessage`. */
  readonly handleMessageBatch?: BatchHandler<T>
}
