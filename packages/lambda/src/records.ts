import { Buffer } from 'node:buffer'
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs'
import type { EnvelopeMessage, ReceivedAttributes } from '@sqs-envelope/core'
import { ATTRIBUTE_CONTENT_TYPE, ATTRIBUTE_CONTEXT, ATTRIBUTE_VERSION } from '@sqs-envelope/core/wire'
import type { SQSMessageAttribute, SQSRecord } from './lambda-types.ts'

// The only attributes the opener reads.
const ENVELOPE_ATTRIBUTES = [ATTRIBUTE_VERSION, ATTRIBUTE_CONTENT_TYPE, ATTRIBUTE_CONTEXT] as const

interface Slot {
  DataType: string | undefined
  StringValue: string | undefined
}

interface View {
  Body: string | undefined
  MessageAttributes: ReceivedAttributes | undefined
}

/**
 * Lambda's records as the opener reads them (`Body`, `MessageAttributes` with `DataType` and
 * `StringValue`), without copying a body or allocating per record: one view per handler, pointed
 * at a record right before `opener.open(view)`. That is safe because the opener reads a message's
 * body and attributes synchronously, inside `open()`, and keeps no reference to it (records.test.ts
 * holds it to that with concurrent opens). Only the envelope's own attributes are mapped; the
 * opener reads no other.
 */
export class RecordReader {
  readonly #slots: Slot[] = ENVELOPE_ATTRIBUTES.map(() => ({ DataType: undefined, StringValue: undefined }))
  // A null prototype: a lookup of a name the record lacks finds nothing inherited.
  readonly #attributes: Record<string, Slot | undefined> = Object.create(null)
  readonly #view: View = { Body: undefined, MessageAttributes: this.#attributes }

  /** The view, pointed at `record`; valid until the next call. */
  view(record: SQSRecord): EnvelopeMessage {
    this.#view.Body = record.body
    const received = record.messageAttributes
    for (let i = 0; i < ENVELOPE_ATTRIBUTES.length; i++) {
      const name = ENVELOPE_ATTRIBUTES[i] as string
      const attribute = received?.[name] as SQSMessageAttribute | null | undefined
      if (attribute === undefined) {
        this.#attributes[name] = undefined
        continue
      }
      const slot = this.#slots[i] as Slot
      // A malformed attribute (null, no dataType) reaches the opener as one: it answers ATTRIBUTE_INVALID.
      slot.DataType = attribute?.dataType
      slot.StringValue = attribute?.stringValue
      this.#attributes[name] = slot
    }
    return this.#view
  }
}

/** The record's message attributes in the SDK's shape (binary values decoded), on a null-prototype object. */
export function sdkAttributes(record: SQSRecord): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = Object.create(null)
  const received = record.messageAttributes
  if (!received) return attributes
  for (const name of Object.keys(received)) {
    const value = received[name]
    if (value === null || typeof value !== 'object') continue
    const attribute: MessageAttributeValue = { DataType: value.dataType }
    if (value.stringValue !== undefined && value.stringValue !== null) attribute.StringValue = value.stringValue
    if (value.binaryValue !== undefined && value.binaryValue !== null) {
      attribute.BinaryValue = Buffer.from(value.binaryValue, 'base64')
    }
    attributes[name] = attribute
  }
  return attributes
}

/**
 * The record as the SDK's `Message`, for the consumer's quarantine copy: the body is the record's
 * own string (not copied), attributes in the SDK's shape.
 */
export function sdkMessage(record: SQSRecord): Message {
  return {
    MessageId: record.messageId,
    ReceiptHandle: record.receiptHandle,
    Body: record.body,
    MessageAttributes: sdkAttributes(record),
    Attributes: record.attributes as Message['Attributes'],
  }
}

/** SQS's receive count of the record (1 when absent or malformed). */
export function receiveCountOf(record: SQSRecord): number {
  const count = Number(record.attributes?.ApproximateReceiveCount)
  return Number.isSafeInteger(count) && count >= 1 ? count : 1
}

/** What an SQS queue ARN names. */
export interface QueueArn {
  readonly region: string
  readonly account: string
  readonly name: string
}

/** `arn:<partition>:sqs:<region>:<account>:<name>` → its parts, or undefined when it is not one. */
export function parseQueueArn(arn: unknown): QueueArn | undefined {
  if (typeof arn !== 'string') return undefined
  const parts = arn.split(':')
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs') return undefined
  const [, , , region, account, name] = parts as [string, string, string, string, string, string]
  return region && account && name ? { region, account, name } : undefined
}

/** FIFO queues' names end in `.fifo`. */
export function isFifoArn(arn: string): boolean {
  return arn.endsWith('.fifo')
}
