import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  type MessageAttributeValue,
  type SendMessageCommandInput,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import type { SqsEnvelopeErrorCode } from '@sqs-envelope/core'

/** Attribute added to a quarantined message: the error code that made it unopenable. */
export const ATTRIBUTE_QUARANTINE_CODE = 'SqsEnvelope.QuarantineCode'
/** Attribute added to a quarantined message: the URL of the queue it came from. */
export const ATTRIBUTE_QUARANTINE_SOURCE = 'SqsEnvelope.QuarantineSource'
/** Attribute added to a quarantined message: when it was quarantined (ISO 8601). */
export const ATTRIBUTE_QUARANTINE_TIME = 'SqsEnvelope.QuarantineTime'
/** Used instead of the three above when the message already has 8 or 9 attributes (SQS allows 10); with 10, nothing is added. */
export const ATTRIBUTE_QUARANTINE = 'SqsEnvelope.Quarantine'

const SQS_MAX_ATTRIBUTES = 10

function copyAttribute(value: MessageAttributeValue): MessageAttributeValue {
  // Only the fields SendMessage accepts; the values themselves are passed on unchanged (no re-encoding).
  const copy: MessageAttributeValue = { DataType: value.DataType }
  if (value.StringValue !== undefined) copy.StringValue = value.StringValue
  if (value.BinaryValue !== undefined) copy.BinaryValue = value.BinaryValue
  return copy
}

/**
 * The SendMessage input that moves `message` intact to `quarantineQueueUrl`: the same body, every
 * attribute it had, plus the error code, the source queue and the time.
 */
export function quarantineInput(
  message: Message,
  code: SqsEnvelopeErrorCode,
  sourceQueueUrl: string,
  quarantineQueueUrl: string,
  now: Date = new Date(),
): SendMessageCommandInput {
  const attributes: Record<string, MessageAttributeValue> = {}
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) attributes[name] = copyAttribute(value)
  const added = { code, sourceQueueUrl, time: now.toISOString() }
  if (Object.keys(attributes).length + 3 <= SQS_MAX_ATTRIBUTES) {
    attributes[ATTRIBUTE_QUARANTINE_CODE] = { DataType: 'String', StringValue: added.code }
    attributes[ATTRIBUTE_QUARANTINE_SOURCE] = { DataType: 'String', StringValue: added.sourceQueueUrl }
    attributes[ATTRIBUTE_QUARANTINE_TIME] = { DataType: 'String', StringValue: added.time }
  } else if (Object.keys(attributes).length < SQS_MAX_ATTRIBUTES) {
    attributes[ATTRIBUTE_QUARANTINE] = { DataType: 'String', StringValue: JSON.stringify(added) }
  }
  // With 10 already, none is added: SQS would refuse an 11th, and the message could never be moved.
  // The code, the source and the time are in the message_quarantined event.
  const input: SendMessageCommandInput = {
    QueueUrl: quarantineQueueUrl,
    MessageBody: message.Body ?? '',
    MessageAttributes: attributes,
  }
  if (quarantineQueueUrl.endsWith('.fifo')) {
    input.MessageGroupId = message.Attributes?.MessageGroupId ?? 'sqs-envelope-quarantine'
    input.MessageDeduplicationId = message.MessageId
  }
  return input
}

/** The DLQ of `queueUrl` from its RedrivePolicy, or undefined when it has none. */
export async function deadLetterQueueUrl(sqs: SQSClient, queueUrl: string, signal?: AbortSignal) {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
    { abortSignal: signal },
  )
  const policy = Attributes?.RedrivePolicy
  if (!policy) return undefined
  const arn = (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn
  if (typeof arn !== 'string') return undefined
  // arn:aws:sqs:<region>:<account>:<name>
  const [, , , , account, name] = arn.split(':')
  if (!name) return undefined
  const { QueueUrl } = await sqs.send(
    new GetQueueUrlCommand({ QueueName: name, ...(account ? { QueueOwnerAWSAccountId: account } : {}) }),
    { abortSignal: signal },
  )
  return QueueUrl
}
