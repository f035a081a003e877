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
/**
 * Used instead of the three above when the message already has 8 or 9 attributes (SQS allows 10); with 10, or when
 * the copy would pass SQS's size limit, nothing is added.
 */
export const ATTRIBUTE_QUARANTINE = 'SqsEnvelope.Quarantine'

const SQS_MAX_ATTRIBUTES = 10
/** SQS's largest message: body plus every attribute's name, data type and value, in bytes. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576

type AttributeMap = Record<string, MessageAttributeValue>

/** Bytes SQS counts for one attribute: its name, its data type and its value. */
function attributeBytes(name: string, value: MessageAttributeValue): number {
  let bytes = Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value.DataType ?? '', 'utf8')
  if (value.StringValue !== undefined) bytes += Buffer.byteLength(value.StringValue, 'utf8')
  if (value.BinaryValue !== undefined) bytes += value.BinaryValue.byteLength
  return bytes
}

function mapBytes(attributes: AttributeMap): number {
  let bytes = 0
  for (const name of Object.keys(attributes)) bytes += attributeBytes(name, attributes[name] as MessageAttributeValue)
  return bytes
}

/**
 * The message's attributes, on a null-prototype object: a name like `__proto__` (SQS allows it) is
 * an own key there, not the prototype. An attribute without a value is left out: the SDK returns
 * `__proto__` as an own key with no value, and SendMessage needs one.
 */
function copyAttributes(source: Message['MessageAttributes']): AttributeMap {
  const copy: AttributeMap = Object.create(null)
  if (!source) return copy
  for (const name of Object.keys(source)) {
    const value = source[name]
    if (value === null || typeof value !== 'object') continue
    // Only the fields SendMessage accepts; the values themselves are passed on unchanged (no re-encoding).
    const attribute: MessageAttributeValue = { DataType: value.DataType }
    if (value.StringValue !== undefined) attribute.StringValue = value.StringValue
    if (value.BinaryValue !== undefined) attribute.BinaryValue = value.BinaryValue
    copy[name] = attribute
  }
  return copy
}

/**
 * What we add to a quarantined copy: the three attributes, or one JSON attribute when three would
 * pass SQS's 10, or none when neither fits in the attribute count or in `room` bytes. Nothing
 * added is never a reason not to move the message: the event carries the same facts.
 */
function addedAttributes(count: number, room: number, code: string, sourceQueueUrl: string, time: string) {
  const three: AttributeMap = {
    [ATTRIBUTE_QUARANTINE_CODE]: { DataType: 'String', StringValue: code },
    [ATTRIBUTE_QUARANTINE_SOURCE]: { DataType: 'String', StringValue: sourceQueueUrl },
    [ATTRIBUTE_QUARANTINE_TIME]: { DataType: 'String', StringValue: time },
  }
  if (count + 3 <= SQS_MAX_ATTRIBUTES && mapBytes(three) <= room) return three
  const one: AttributeMap = {
    [ATTRIBUTE_QUARANTINE]: { DataType: 'String', StringValue: JSON.stringify({ code, sourceQueueUrl, time }) },
  }
  if (count + 1 <= SQS_MAX_ATTRIBUTES && mapBytes(one) <= room) return one
  return undefined
}

/**
 * The SendMessage input that moves `message` intact to `quarantineQueueUrl`: the same body, every
 * attribute it had (except one the SDK returned without a value), plus the error code, the source
 * queue and the time when they fit SQS's limits (10 attributes, {@link SQS_MAX_MESSAGE_BYTES}):
 * a message of ~1 MiB or with 10 attributes is moved without them rather than not at all.
 */
export function quarantineInput(
  message: Message,
  code: SqsEnvelopeErrorCode,
  sourceQueueUrl: string,
  quarantineQueueUrl: string,
  now: Date = new Date(),
): SendMessageCommandInput {
  const body = message.Body ?? ''
  const attributes = copyAttributes(message.MessageAttributes)
  const room = SQS_MAX_MESSAGE_BYTES - Buffer.byteLength(body, 'utf8') - mapBytes(attributes)
  const added = addedAttributes(Object.keys(attributes).length, room, code, sourceQueueUrl, now.toISOString())
  if (added) Object.assign(attributes, added)
  const input: SendMessageCommandInput = {
    QueueUrl: quarantineQueueUrl,
    MessageBody: body,
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
