// The parts of Lambda's SQS event, context and response this package reads or returns, declared
// structurally so that it needs no `@types/aws-lambda`: the types of that package fit them.

/** A message attribute as Lambda delivers it: lowercase keys, binary values in base64. */
export interface SQSMessageAttribute {
  readonly stringValue?: string | undefined
  /** Base64 of the bytes. */
  readonly binaryValue?: string | undefined
  readonly stringListValues?: readonly string[] | undefined
  readonly binaryListValues?: readonly string[] | undefined
  readonly dataType: string
}

/**
 * The system attributes of a record, under SQS's names, as strings. No index signature, so that
 * `@types/aws-lambda`'s interface fits.
 */
export interface SQSRecordAttributes {
  readonly ApproximateReceiveCount?: string | undefined
  readonly ApproximateFirstReceiveTimestamp?: string | undefined
  readonly SentTimestamp?: string | undefined
  readonly SenderId?: string | undefined
  readonly AWSTraceHeader?: string | undefined
  readonly SequenceNumber?: string | undefined
  readonly MessageGroupId?: string | undefined
  readonly MessageDeduplicationId?: string | undefined
  readonly DeadLetterQueueSourceArn?: string | undefined
}

/** One message of an SQS event. */
export interface SQSRecord {
  readonly messageId: string
  readonly receiptHandle?: string
  readonly body: string
  readonly attributes: SQSRecordAttributes
  readonly messageAttributes: Readonly<Record<string, SQSMessageAttribute>>
  readonly md5OfBody?: string
  readonly eventSource?: string
  /** `arn:aws:sqs:<region>:<account>:<queue name>`. */
  readonly eventSourceARN: string
  readonly awsRegion?: string
}

/** What an SQS event source mapping passes to the function. */
export interface SQSEvent {
  readonly Records: readonly SQSRecord[]
}

/** The part of Lambda's invocation context this package reads. */
export interface Context {
  /** Ms left before Lambda stops the invocation. */
  getRemainingTimeInMillis(): number
  readonly awsRequestId?: string
}

/** One record to be delivered again: its `messageId`. */
export interface SQSBatchItemFailure {
  readonly itemIdentifier: string
}

/** A partial batch response (the event source mapping needs `FunctionResponseTypes: ['ReportBatchItemFailures']`). */
export interface SQSBatchResponse {
  readonly batchItemFailures: SQSBatchItemFailure[]
}
