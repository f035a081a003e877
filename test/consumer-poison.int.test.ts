import { createHash } from 'node:crypto'
import { GenerateDataKeyCommand } from '@aws-sdk/client-kms'
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs'
import {
  ATTRIBUTE_QUARANTINE_CODE,
  ATTRIBUTE_QUARANTINE_SOURCE,
  ATTRIBUTE_QUARANTINE_TIME,
  EnvelopeConsumer,
  type QuarantineEvent,
} from '@sqs-envelope/consumer'
import { EnvelopeSealer, Fernet } from '@sqs-envelope/core'
import { encodeBody, parseBody } from '@sqs-envelope/core/wire'
import { describe, expect, it } from 'vitest'
import {
  queueDepth,
  type RawMessage,
  receiveAll,
  recordEvents,
  sealedToRaw,
  sendRaw,
  startTrickle,
  waitFor,
} from './consumer-support.ts'
import { localstackFixture } from './support.ts'

const fixture = localstackFixture({ keys: 2 })
const { sqs, kms, newQueue, newSealer } = fixture

/** Attributes of the sender's own, to check they travel to quarantine unchanged. */
function userAttributes(i: number): Record<string, MessageAttributeValue> {
  return {
    'app.trace': { DataType: 'String', StringValue: `trace-${i}-ünïcode` },
    'app.blob': { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 254, 255, i]) },
    'app.count': { DataType: 'Number', StringValue: String(1000 + i) },
  }
}

function withUserAttributes(raw: RawMessage, i: number): RawMessage {
  return { body: raw.body, messageAttributes: { ...raw.messageAttributes, ...userAttributes(i) } }
}

function projection(attributes: Message['MessageAttributes'], names: readonly string[]) {
  const out: Record<string, { DataType?: string; StringValue?: string; Binary?: string }> = {}
  for (const name of names) {
    const value = attributes?.[name]
    out[name] = {
      ...(value?.DataType === undefined ? {} : { DataType: value.DataType }),
      ...(value?.StringValue === undefined ? {} : { StringValue: value.StringValue }),
      ...(value?.BinaryValue === undefined ? {} : { Binary: Buffer.from(value.BinaryValue).toString('base64') }),
    }
  }
  return out
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex')

/** One message of each kind of poison, each with a code it must be quarantined under. */
async function poisonMessages(queueArn: string): Promise<Array<{ raw: RawMessage; codes: string[] }>> {
  const sealer = newSealer({ encryptionContext: { queue: queueArn } })
  const good = await sealer.seal('never seen')
  const { encryptedDataKey, token } = parseBody(good.body)
  const flipped = token.slice(0, 40) + (token[40] === 'A' ? 'B' : 'A') + token.slice(41)
  const otherContext = await new EnvelopeSealer({
    kms,
    kmsKeyId: fixture.key.keyId,
    encryptionContext: { queue: 'arn:aws:sqs:us-east-1:000000000000:someone-else' },
  }).seal('x')
  const foreign = await new EnvelopeSealer({
    kms,
    kmsKeyId: fixture.otherKey.keyId,
    encryptionContext: { queue: queueArn },
  }).seal('x')
  const other = await new EnvelopeSealer({
    kms,
    kmsKeyId: fixture.key.keyId,
    encryptionContext: { queue: queueArn },
    reuse: false,
  }).seal('y')
  // A token made an hour ago under a real data key: only its age is wrong.
  const dataKey = await kms.send(
    new GenerateDataKeyCommand({
      KeyId: fixture.key.keyId,
      KeySpec: 'AES_256',
      EncryptionContext: { queue: queueArn },
    }),
  )
  const oldToken = new Fernet(dataKey.Plaintext as Uint8Array).encrypt('old', {
    timestamp: Math.floor(Date.now() / 1000) - 3600,
  })
  const attrs = good.messageAttributes
  return [
    { raw: { body: 'hello, not json' }, codes: ['BODY_NOT_JSON'] },
    {
      raw: {
        body: `{"encrypted_data_key": "!!not base64!!", "encrypted_message": "${token}"}`,
        messageAttributes: attrs,
      },
      codes: ['DATA_KEY_ENCODING'],
    },
    { raw: { body: encodeBody(encryptedDataKey, flipped), messageAttributes: attrs }, codes: ['TOKEN_MAC'] },
    // The token of one data key under another's wrapped key: a wrong key.
    {
      raw: { body: encodeBody(parseBody(other.body).encryptedDataKey, token), messageAttributes: attrs },
      codes: ['TOKEN_MAC'],
    },
    { raw: sealedToRaw(foreign), codes: ['KMS_KEY_NOT_ALLOWED', 'KMS_INCORRECT_KEY'] },
    { raw: sealedToRaw(otherContext), codes: ['CONTEXT_MISMATCH'] },
    {
      raw: { body: encodeBody(dataKey.CiphertextBlob as Uint8Array, oldToken), messageAttributes: attrs },
      codes: ['TOKEN_EXPIRED'],
    },
    // A blob that names no KMS key (LocalStack: NotFoundException, or IncorrectKey with KeyId; AWS: InvalidCiphertext).
    {
      raw: { body: encodeBody(Buffer.alloc(120, 7), token), messageAttributes: attrs },
      codes: ['KMS_KEY_NOT_FOUND', 'KMS_INVALID_CIPHERTEXT', 'KMS_INCORRECT_KEY'],
    },
  ]
}

describe('EnvelopeConsumer: poison is quarantined intact', () => {
  it('each kind of poison among good jobs: good ones handled, every bad one in the DLQ byte-identical, never handled', async () => {
    const queue = await newQueue({ prefix: 'consumer-poison', deadLetterQueue: { maxReceiveCount: 5 } })
    const dlq = queue.deadLetterQueue?.queueUrl as string
    const poison = await poisonMessages(queue.queueArn)
    const sealer = newSealer({ encryptionContext: { queue: queue.queueArn } })
    const good: RawMessage[] = []
    for (let i = 0; i < 20; i++) good.push(sealedToRaw(await sealer.seal(`good-${i}`)))
    // Suspect poison (the foreign key, the other context, the blob naming no key) is quarantined once a job
    // opened after its data key first failed: good traffic goes on, one job every 300 ms, until the end.
    const trickle: RawMessage[] = []
    for (let i = 0; i < 100; i++) trickle.push(sealedToRaw(await sealer.seal(`trickle-${i}`)))
    const bad = poison.map((p, i) => withUserAttributes(p.raw, i))
    await sendRaw(sqs, queue.queueUrl, [...good.slice(0, 10), ...bad, ...good.slice(10)])

    const handled: string[] = []
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      allowedKmsKeyArns: [fixture.key.keyArn],
      requiredEncryptionContext: { queue: queue.queueArn },
      tokenTtlSeconds: 600,
      waitTimeSeconds: 1,
      handleMessage: (job) => {
        handled.push(job)
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    const trickler = startTrickle(sqs, queue.queueUrl, trickle, 300)
    let trickled = 0
    try {
      await waitFor(
        () => (events.message_processed?.length ?? 0) >= 20 && (events.message_quarantined?.length ?? 0) === bad.length,
        30_000,
        'good ones processed and bad ones quarantined',
      )
    } finally {
      trickled = await trickler.stop()
    }
    await waitFor(() => (events.message_processed?.length ?? 0) === 20 + trickled, 20_000, 'the trickle processed')
    await consumer.stop()

    expect(handled.sort()).toEqual(
      [
        ...Array.from({ length: 20 }, (_, i) => `good-${i}`),
        ...Array.from({ length: trickled }, (_, i) => `trickle-${i}`),
      ].sort(),
    )
    const quarantined = (events.message_quarantined ?? []).map(([e]) => e as QuarantineEvent)
    expect(quarantined.every((e) => e.moved && e.quarantineQueueUrl === dlq)).toBe(true)
    expect(consumer.metrics()).toMatchObject({ processed: 20 + trickled, quarantined: bad.length, inFlight: 0 })
    expect(events.error).toEqual([])

    const moved = await receiveAll(sqs, dlq, bad.length)
    expect(moved).toHaveLength(bad.length)
    for (const [i, raw] of bad.entries()) {
      const copy = moved.find((m) => m.Body === raw.body)
      expect(copy, `poison #${i} in the DLQ`).toBeDefined()
      expect(copy?.MD5OfBody).toBe(md5(raw.body))
      const names = Object.keys(raw.messageAttributes ?? {})
      expect(projection(copy?.MessageAttributes, names)).toEqual(projection(raw.messageAttributes, names))
      const code = copy?.MessageAttributes?.[ATTRIBUTE_QUARANTINE_CODE]?.StringValue
      expect(poison[i]?.codes).toContain(code)
      expect(copy?.MessageAttributes?.[ATTRIBUTE_QUARANTINE_SOURCE]?.StringValue).toBe(queue.queueUrl)
      const time = Date.parse(copy?.MessageAttributes?.[ATTRIBUTE_QUARANTINE_TIME]?.StringValue ?? '')
      expect(Math.abs(Date.now() - time)).toBeLessThan(120_000)
      expect(quarantined.some((e) => e.code === code)).toBe(true)
    }
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 90_000)

  it('with quarantineQueueUrl, poison goes there rather than to the DLQ', async () => {
    const queue = await newQueue({ prefix: 'consumer-qq', deadLetterQueue: true })
    const quarantine = await newQueue({ prefix: 'consumer-qq-target' })
    await sendRaw(sqs, queue.queueUrl, [{ body: 'not json', messageAttributes: userAttributes(1) }])
    const consumer = new EnvelopeConsumer({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      quarantineQueueUrl: quarantine.queueUrl,
      waitTimeSeconds: 1,
      handleMessage: () => {
        throw new Error('never called for poison')
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => (events.message_quarantined?.length ?? 0) === 1, 20_000, 'the poison quarantined')
    await consumer.stop()
    expect(events.message_quarantined?.[0]?.[0]).toMatchObject({
      code: 'BODY_NOT_JSON',
      moved: true,
      quarantineQueueUrl: quarantine.queueUrl,
      queueUrl: queue.queueUrl,
    })
    const [copy] = await receiveAll(sqs, quarantine.queueUrl, 1)
    expect(copy?.Body).toBe('not json')
    expect(await queueDepth(sqs, queue.deadLetterQueue?.queueUrl as string)).toBe(0)
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await Promise.all([queue.delete(), quarantine.delete()])
  }, 60_000)

  it('with neither a quarantine queue nor a DLQ, poison stays in its queue, reported and never deleted', async () => {
    const queue = await newQueue({ prefix: 'consumer-nodlq', visibilityTimeoutSeconds: 30 })
    await sendRaw(sqs, queue.queueUrl, [{ body: 'not json either' }])
    const consumer = new EnvelopeConsumer({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      waitTimeSeconds: 1,
      handleMessage: () => {
        throw new Error('never called for poison')
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => (events.message_quarantined?.length ?? 0) === 1, 20_000, 'the poison reported')
    await consumer.stop()
    expect(events.message_quarantined?.[0]?.[0]).toMatchObject({
      code: 'BODY_NOT_JSON',
      moved: false,
      quarantineQueueUrl: undefined,
    })
    expect(consumer.metrics()).toMatchObject({ quarantined: 0, processed: 0 })
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(1)
    await queue.delete()
  }, 60_000)

  it('when the send to quarantine fails, the poison is not deleted: QUARANTINE_FAILED, it stays in its queue', async () => {
    const queue = await newQueue({ prefix: 'consumer-qfail', visibilityTimeoutSeconds: 30 })
    await sendRaw(sqs, queue.queueUrl, [{ body: 'poison', messageAttributes: userAttributes(2) }])
    const consumer = new EnvelopeConsumer({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      // A queue that does not exist: SendMessage fails.
      quarantineQueueUrl: `${queue.queueUrl}-missing`,
      waitTimeSeconds: 1,
      handleMessage: () => {
        throw new Error('never called for poison')
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => (events.error?.length ?? 0) >= 1, 20_000, 'the failed quarantine reported')
    await consumer.stop()
    expect(events.error?.[0]?.[0]).toMatchObject({ name: 'SqsEnvelopeError', code: 'QUARANTINE_FAILED' })
    expect(events.message_quarantined).toEqual([])
    expect(consumer.metrics().quarantined).toBe(0)
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(1)
    await queue.delete()
  }, 60_000)
})
