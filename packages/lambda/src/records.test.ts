import type { Message } from '@aws-sdk/client-sqs'
import { EnvelopeOpener, EnvelopeSealer } from '@sqs-envelope/core'
import { ATTRIBUTE_CONTENT_TYPE, ATTRIBUTE_CONTEXT, ATTRIBUTE_VERSION } from '@sqs-envelope/core/wire'
import { toLambdaSqsEvent } from '@sqs-envelope/testing'
import { describe, expect, it } from 'vitest'
import type { SQSRecord } from './lambda-types.ts'
import { isFifoArn, parseQueueArn, RecordReader, receiveCountOf, sdkAttributes, sdkMessage } from './records.ts'
import { fakeKms, KEY_ARN, QUEUE_ARN, record } from './test-support/fakes.ts'

const received: Message = {
  MessageId: 'm-1',
  ReceiptHandle: 'rh-1',
  Body: '{"encrypted_data_key": "a", "encrypted_message": "b"}',
  MD5OfBody: 'md5',
  Attributes: { ApproximateReceiveCount: '3', SentTimestamp: '1767225600000', MessageGroupId: 'g' },
  MessageAttributes: {
    [ATTRIBUTE_VERSION]: { DataType: 'String', StringValue: '1' },
    [ATTRIBUTE_CONTENT_TYPE]: { DataType: 'String', StringValue: 'application/json' },
    tenant: { DataType: 'String.tenant', StringValue: 't-1' },
    amount: { DataType: 'Number', StringValue: '12.50' },
    blob: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 254, 255]) },
  },
}

describe('toLambdaSqsEvent (from @sqs-envelope/testing): the event as Lambda builds it', () => {
  it('lowercase attribute keys, binary values in base64, system attributes by their SQS names, region from the ARN', () => {
    const [r] = toLambdaSqsEvent([received], QUEUE_ARN).Records
    expect(r).toEqual({
      messageId: 'm-1',
      receiptHandle: 'rh-1',
      body: received.Body,
      attributes: { ApproximateReceiveCount: '3', SentTimestamp: '1767225600000', MessageGroupId: 'g' },
      messageAttributes: {
        [ATTRIBUTE_VERSION]: { stringValue: '1', stringListValues: [], binaryListValues: [], dataType: 'String' },
        [ATTRIBUTE_CONTENT_TYPE]: {
          stringValue: 'application/json',
          stringListValues: [],
          binaryListValues: [],
          dataType: 'String',
        },
        tenant: { stringValue: 't-1', stringListValues: [], binaryListValues: [], dataType: 'String.tenant' },
        amount: { stringValue: '12.50', stringListValues: [], binaryListValues: [], dataType: 'Number' },
        blob: { binaryValue: 'AAH+/w==', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
      md5OfBody: 'md5',
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUE_ARN,
      awsRegion: 'us-east-1',
    })
  })
})

describe('Lambda record → what the opener and the quarantine copy read', () => {
  const [lambdaRecord] = toLambdaSqsEvent([received], QUEUE_ARN).Records as unknown as SQSRecord[]

  it("the opener's view: the body is the record's own string, only the envelope's attributes, in the SDK's case", () => {
    const reader = new RecordReader()
    const view = reader.view(lambdaRecord as SQSRecord)
    expect(view.Body).toBe(lambdaRecord?.body)
    expect({ ...view.MessageAttributes }).toEqual({
      [ATTRIBUTE_VERSION]: { DataType: 'String', StringValue: '1' },
      [ATTRIBUTE_CONTENT_TYPE]: { DataType: 'String', StringValue: 'application/json' },
      [ATTRIBUTE_CONTEXT]: undefined,
    })
    // The same view, pointed at the next record: nothing of the previous one is left.
    const next = reader.view(record('m-2', 'other'))
    expect(next).toBe(view)
    expect(next.Body).toBe('other')
    expect(Object.values(next.MessageAttributes ?? {}).every((a) => a === undefined)).toBe(true)
  })

  it('a malformed attribute reaches the opener as one (null, a Binary content type): ATTRIBUTE_INVALID, not a TypeError', async () => {
    const opener = new EnvelopeOpener({ kms: fakeKms().client })
    const reader = new RecordReader()
    const body = '{"encrypted_data_key": "AAAA", "encrypted_message": "gAAAAA=="}'
    for (const attribute of [null, { dataType: 'Binary', binaryValue: 'AA==' }]) {
      const r = record('m', body, { messageAttributes: { [ATTRIBUTE_CONTENT_TYPE]: attribute as never } })
      await expect(opener.open(reader.view(r))).rejects.toMatchObject({ code: 'ATTRIBUTE_INVALID' })
    }
    await opener.close()
  })

  it('one view serves concurrent opens: the opener reads each record inside open(), before the view moves on', async () => {
    const kms = fakeKms(10)
    const sealer = new EnvelopeSealer({ kms: kms.client, kmsKeyId: KEY_ARN, reuse: false })
    const opener = new EnvelopeOpener({ kms: kms.client })
    const sealed = [
      await sealer.seal({ n: 1 }, { contentType: 'json', encryptionContext: { tenant: 'a' } }),
      await sealer.seal('two', { contentType: 'text' }),
      await sealer.seal(new Uint8Array([3]), { contentType: 'bytes', encryptionContext: { tenant: 'c' } }),
    ]
    const messages: Message[] = sealed.map((s, i) => ({
      MessageId: `m-${i}`,
      Body: s.body,
      MessageAttributes: s.messageAttributes,
    }))
    const records = toLambdaSqsEvent(messages, QUEUE_ARN).Records as unknown as SQSRecord[]
    const reader = new RecordReader()
    // Every open waits for KMS (a data key each): all three views are taken before any Decrypt answers.
    const opened = await Promise.all(records.map((r) => opener.open(reader.view(r))))
    expect(opened.map((o) => [o.contentType, o.value, o.encryptionContext])).toEqual([
      ['json', { n: 1 }, { tenant: 'a' }],
      ['text', 'two', undefined],
      ['bytes', Buffer.from([3]), { tenant: 'c' }],
    ])
    expect(kms.calls.decrypt).toBe(3)
    await sealer.close()
    await opener.close()
  })

  it("the SDK's shape for the quarantine copy and the handler's ctx: binary decoded, every attribute, null prototype", () => {
    const attributes = sdkAttributes(lambdaRecord as SQSRecord)
    expect(Object.getPrototypeOf(attributes)).toBeNull()
    expect({ ...attributes }).toEqual({
      ...received.MessageAttributes,
      blob: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 254, 255]) },
    })
    const message = sdkMessage(lambdaRecord as SQSRecord)
    expect(message.Body).toBe(lambdaRecord?.body)
    expect([message.MessageId, message.Attributes?.MessageGroupId]).toEqual(['m-1', 'g'])
    const proto = sdkAttributes(
      record('p', 'x', { messageAttributes: JSON.parse('{"__proto__": {"dataType": "String", "stringValue": "v"}}') }),
    )
    expect(Object.keys(proto)).toEqual(['__proto__'])
  })

  it('receive count, queue ARNs, FIFO', () => {
    expect(receiveCountOf(lambdaRecord as SQSRecord)).toBe(3)
    expect(receiveCountOf(record('x', '', { receiveCount: 0 }))).toBe(1)
    expect(parseQueueArn('arn:aws:sqs:eu-west-1:123456789012:orders.fifo')).toEqual({
      region: 'eu-west-1',
      account: '123456789012',
      name: 'orders.fifo',
    })
    expect(parseQueueArn('arn:aws-cn:sqs:cn-north-1:123456789012:q')?.name).toBe('q')
    for (const bad of ['', 'arn:aws:sns:us-east-1:1:t', 'arn:aws:sqs:us-east-1:1', 'arn:aws:sqs:us-east-1::q', 7]) {
      expect(parseQueueArn(bad)).toBeUndefined()
    }
    expect([isFifoArn('arn:aws:sqs:r:1:q.fifo'), isFifoArn(QUEUE_ARN)]).toEqual([true, false])
  })
})
