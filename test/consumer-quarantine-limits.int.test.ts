import {
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { EnvelopeConsumer, type QuarantineEvent } from '@sqs-envelope/consumer'
import { createSqsClient, type TestQueue } from '@sqs-envelope/testing'
import { describe, expect, it } from 'vitest'
import { queueDepth, receiveAll, recordEvents, waitFor } from './consumer-support.ts'
import { localstackFixture } from './support.ts'

// Issue 23 items 3 and 4: poison messages at SQS's limits (1 MiB = 1,048,576 bytes for the body plus every
// attribute's name, data type and value; 10 attributes) and an attribute named __proto__ are quarantined intact.

const { target, sqs, kms, newQueue } = localstackFixture()
const MAX = 1_048_576
const ADDED = 'SqsEnvelope.'

/** The consumer's SQS client, logging when each SendMessage finished and each DeleteMessageBatch started. */
function orderedClient() {
  const client = createSqsClient(target)
  const order: string[] = []
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DeleteMessageBatchCommand') order.push('delete started')
      const result = await next(args)
      if (context.commandName === 'SendMessageCommand') order.push('copy sent')
      return result
    },
    { step: 'initialize', name: 'sqsEnvelopeTestOrder' },
  )
  return { client, order }
}

/** Runs a consumer on `queue` until one message is quarantined; returns its event and the order of calls. */
async function quarantineOne(queue: TestQueue) {
  const { client, order } = orderedClient()
  const handled: unknown[] = []
  const consumer = new EnvelopeConsumer({
    queueUrl: queue.queueUrl,
    sqs: client,
    kms,
    waitTimeSeconds: 1,
    handleMessage: (job) => {
      handled.push(job)
    },
  })
  const events = recordEvents(consumer)
  consumer.start()
  await waitFor(() => (events.message_quarantined?.length ?? 0) >= 1, 30_000, 'the message quarantined')
  await consumer.stop()
  client.destroy()
  expect(handled).toEqual([])
  expect(events.error).toEqual([])
  const [event] = (events.message_quarantined ?? []).map(([e]) => e as QuarantineEvent)
  return { event, order }
}

async function send(
  sqsClient: SQSClient,
  queueUrl: string,
  body: string,
  attributes?: Record<string, MessageAttributeValue>,
) {
  await sqsClient.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      ...(attributes ? { MessageAttributes: attributes } : {}),
    }),
  )
}

function bytesOf(body: string, attributes: Record<string, MessageAttributeValue>) {
  let bytes = Buffer.byteLength(body)
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '')
    bytes +=
      value.StringValue !== undefined ? Buffer.byteLength(value.StringValue) : (value.BinaryValue?.byteLength ?? 0)
  }
  return bytes
}

describe('EnvelopeConsumer quarantine at SQS’s size and attribute limits', () => {
  it('a poison body of ~1 MiB (the message at 1,048,576 bytes): the copy arrives byte-identical without the added attributes, the source deleted only after', async () => {
    const queue = await newQueue({ prefix: 'quarantine-1mib', deadLetterQueue: true })
    const attributes = { origin: { DataType: 'String', StringValue: 'a producer of ours' } }
    // Not JSON, multibyte characters included: exactly SQS's limit with its attribute.
    const head = 'é€ poison '
    const body = head + 'x'.repeat(MAX - bytesOf(head, attributes))
    expect(bytesOf(body, attributes)).toBe(MAX)
    await send(sqs, queue.queueUrl, body, attributes)
    const { event, order } = await quarantineOne(queue)
    expect(event).toMatchObject({ code: 'BODY_NOT_JSON', moved: true })
    const [copy, ...more] = await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string, 1)
    expect(more).toEqual([])
    expect(copy?.Body === body).toBe(true)
    expect(copy?.MessageAttributes).toEqual(attributes)
    expect(order.indexOf('copy sent')).toBeGreaterThanOrEqual(0)
    expect(order.indexOf('copy sent')).toBeLessThan(order.indexOf('delete started'))
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
  }, 90_000)

  it('attributes near the limit (a binary one of ~1 MiB, small body): copied unchanged, nothing added that would pass it', async () => {
    const queue = await newQueue({ prefix: 'quarantine-attrs', deadLetterQueue: true })
    const binary = Buffer.alloc(MAX - 300)
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 7) & 0xff
    const attributes: Record<string, MessageAttributeValue> = {
      blob: { DataType: 'Binary', BinaryValue: binary },
      note: { DataType: 'String.custom', StringValue: 'ü'.repeat(50) },
      n: { DataType: 'Number', StringValue: '42' },
    }
    const body = '{"not": "an envelope"}'
    // 300 - (body, names, types, the note's 100 bytes and "42") ≈ 140 bytes left: fewer than the three (≥ 150).
    expect(MAX - bytesOf(body, attributes)).toBeLessThan(150)
    await send(sqs, queue.queueUrl, body, attributes)
    const { event, order } = await quarantineOne(queue)
    expect(event).toMatchObject({ code: 'BODY_SHAPE', moved: true })
    const [copy] = await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string, 1)
    expect(copy?.Body).toBe(body)
    expect(Object.keys(copy?.MessageAttributes ?? {}).sort()).toEqual(['blob', 'n', 'note'])
    expect(Buffer.from(copy?.MessageAttributes?.blob?.BinaryValue ?? []).equals(binary)).toBe(true)
    expect(copy?.MessageAttributes?.note).toEqual(attributes.note)
    expect(copy?.MessageAttributes?.n).toEqual(attributes.n)
    expect(Object.keys(copy?.MessageAttributes ?? {}).some((name) => name.startsWith(ADDED))).toBe(false)
    expect(order.indexOf('copy sent')).toBeLessThan(order.indexOf('delete started'))
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
  }, 90_000)
})

describe('EnvelopeConsumer quarantine and an attribute named __proto__', () => {
  it('SQS stores __proto__ and the SDK returns it as an own key without a value: the poison message is quarantined with its body and other attributes intact (that one cannot be carried)', async () => {
    const queue = await newQueue({ prefix: 'quarantine-proto', deadLetterQueue: true })
    // A null-prototype map: on a plain object, __proto__ would set the prototype instead of adding an attribute.
    const attributes: Record<string, MessageAttributeValue> = Object.create(null)
    Object.defineProperty(attributes, '__proto__', {
      value: { DataType: 'String', StringValue: 'p' },
      enumerable: true,
    })
    attributes.other = { DataType: 'String', StringValue: 'kept' }
    const body = 'poison, not JSON'
    await send(sqs, queue.queueUrl, body, attributes)
    // What the consumer will get: the attribute is there, as an own key with no value.
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MessageAttributeNames: ['All'], VisibilityTimeout: 0 }),
    )
    const received = Messages[0]?.MessageAttributes ?? {}
    expect(Object.hasOwn(received, '__proto__')).toBe(true)
    expect(Object.getOwnPropertyDescriptor(received, '__proto__')?.value ?? null).toBeNull()

    const { event, order } = await quarantineOne(queue)
    expect(event).toMatchObject({ code: 'BODY_NOT_JSON', moved: true })
    const [copy] = await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string, 1)
    expect(copy?.Body).toBe(body)
    const copied = copy?.MessageAttributes ?? {}
    expect(copied.other).toEqual({ DataType: 'String', StringValue: 'kept' })
    expect(copied['SqsEnvelope.QuarantineCode']?.StringValue).toBe('BODY_NOT_JSON')
    expect(Object.hasOwn(copied, '__proto__')).toBe(false)
    expect(order.indexOf('copy sent')).toBeLessThan(order.indexOf('delete started'))
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
  }, 90_000)
})
