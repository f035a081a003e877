import type { Message } from '@aws-sdk/client-sqs'

/** A message attribute as Lambda delivers it: lowercase keys, binary values in base64. */
export interface LambdaSqsMessageAttribute {
  stringValue?: string
  binaryValue?: string
  stringListValues: string[]
  binaryListValues: string[]
  dataType: string
}

/** One record of an SQS event, as Lambda's event source mapping builds it. */
export interface LambdaSqsRecord {
  messageId: string
  receiptHandle: string
  body: string
  attributes: Record<string, string>
  messageAttributes: Record<string, LambdaSqsMessageAttribute>
  md5OfBody: string
  md5OfMessageAttributes?: string
  eventSource: 'aws:sqs'
  eventSourceARN: string
  awsRegion: string
}

/** The event an SQS event source mapping passes to a function. */
export interface LambdaSqsEvent {
  Records: LambdaSqsRecord[]
}

function lambdaAttribute(value: NonNullable<Message['MessageAttributes']>[string]): LambdaSqsMessageAttribute {
  const attribute: LambdaSqsMessageAttribute = {
    stringListValues: [],
    binaryListValues: [],
    dataType: value.DataType ?? 'String',
  }
  if (value.StringValue !== undefined) attribute.stringValue = value.StringValue
  if (value.BinaryValue !== undefined) attribute.binaryValue = Buffer.from(value.BinaryValue).toString('base64')
  // Lambda lists its keys in this order: values first, dataType last.
  const { dataType, ...rest } = attribute
  return { ...rest, dataType }
}

/**
 * The SQS event Lambda would pass to a function for `messages` received from the queue
 * `queueArn` (receive them with `MessageAttributeNames: ['All']` and
 * `MessageSystemAttributeNames: ['All']`, as the event source mapping does): lowercase attribute
 * keys, binary values in base64, system attributes under their SQS names, the region from the
 * ARN. The result has been through JSON, as Lambda's is.
 */
export function toLambdaSqsEvent(messages: readonly Message[], queueArn: string): LambdaSqsEvent {
  const awsRegion = queueArn.split(':')[3] ?? ''
  const Records = messages.map((message): LambdaSqsRecord => {
    const messageAttributes: Record<string, LambdaSqsMessageAttribute> = {}
    for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
      if (value) messageAttributes[name] = lambdaAttribute(value)
    }
    const record: LambdaSqsRecord = {
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: { ...(message.Attributes ?? {}) },
      messageAttributes,
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion,
    }
    if (message.MD5OfMessageAttributes !== undefined) record.md5OfMessageAttributes = message.MD5OfMessageAttributes
    return record
  })
  return JSON.parse(JSON.stringify({ Records })) as LambdaSqsEvent
}
