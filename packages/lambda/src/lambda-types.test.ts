import { describe, expect, expectTypeOf, it } from 'vitest'
import { createSqsHandler } from './handler.ts'
import { fakeSqs, stubOpener } from './test-support/fakes.ts'

// The shapes `@types/aws-lambda` declares (interfaces, so no implicit index signatures), written
// out here so that its users' `SQSHandler` annotation is checked without depending on it.
interface AwsSQSRecordAttributes {
  AWSTraceHeader?: string | undefined
  ApproximateReceiveCount: string
  SentTimestamp: string
  SenderId: string
  ApproximateFirstReceiveTimestamp: string
  SequenceNumber?: string | undefined
  MessageGroupId?: string | undefined
  MessageDeduplicationId?: string | undefined
  DeadLetterQueueSourceArn?: string | undefined
}
type AwsSQSMessageAttributeDataType = 'String' | 'Number' | 'Binary' | string
interface AwsSQSMessageAttribute {
  stringValue?: string | undefined
  binaryValue?: string | undefined
  stringListValues?: string[] | undefined
  binaryListValues?: string[] | undefined
  dataType: AwsSQSMessageAttributeDataType
}
interface AwsSQSMessageAttributes {
  [name: string]: AwsSQSMessageAttribute
}
interface AwsSQSRecord {
  messageId: string
  receiptHandle: string
  body: string
  attributes: AwsSQSRecordAttributes
  messageAttributes: AwsSQSMessageAttributes
  md5OfBody: string
  md5OfMessageAttributes?: string
  eventSource: string
  eventSourceARN: string
  awsRegion: string
}
interface AwsSQSEvent {
  Records: AwsSQSRecord[]
}
interface AwsContext {
  callbackWaitsForEmptyEventLoop: boolean
  functionName: string
  awsRequestId: string
  getRemainingTimeInMillis(): number
}
interface AwsSQSBatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>
}
// biome-ignore lint/suspicious/noConfusingVoidType: @types/aws-lambda's Handler returns void (callback style) or a promise
type AwsHandlerResult = void | Promise<AwsSQSBatchResponse | undefined>
type AwsSQSHandler = (
  event: AwsSQSEvent,
  context: AwsContext,
  callback: (error?: Error | string | null, result?: AwsSQSBatchResponse) => void,
) => AwsHandlerResult

describe("the Lambda types: @types/aws-lambda's fit", () => {
  it('a handler from createSqsHandler is an SQSHandler of @types/aws-lambda', () => {
    const handler = createSqsHandler({ sqs: fakeSqs().client, opener: stubOpener(), handleMessage: () => {} })
    const annotated: AwsSQSHandler = handler
    expectTypeOf(handler).toExtend<AwsSQSHandler>()
    expect(annotated).toBe(handler)
  })
})
