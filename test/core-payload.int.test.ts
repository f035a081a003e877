// Payloads against the real LocalStack KMS and SQS: what the sealer refuses never costs a KMS
// call or reaches a queue, and what it accepts comes back exactly as it was sealed.
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { EnvelopeOpener } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import { countKmsCalls, failure, localstackFixture, receiveAll, toMessage } from './support.ts'

const fixture = localstackFixture()

describe('text that UTF-8 cannot carry (issue 23, item 8)', () => {
  it('a lone surrogate is PAYLOAD_INVALID before any KMS call, where it used to be sealed as U+FFFD', async () => {
    const kmsCalls = countKmsCalls(fixture.kms)
    await using sealer = fixture.newSealer({}, await fixture.newKey())
    for (const text of ['\ud800', 'order \udc00 42', `${'x'.repeat(100_000)}\udbff`]) {
      expect(await failure(sealer.seal(text))).toEqual({ code: 'PAYLOAD_INVALID', kind: 'permanent' })
    }
    expect(kmsCalls.GenerateDataKeyCommand ?? 0).toBe(0)
    // The same sealer still seals well-formed text: the refusal left nothing behind.
    await sealer.seal('fine')
    expect(kmsCalls.GenerateDataKeyCommand).toBe(1)
  }, 30_000)

  it('through SQS, well-formed text (pairs, U+FFFD itself) and json holding a lone surrogate open unchanged', async () => {
    const { key, queue, sealer: built } = await fixture.newQueueWithKey({ prefix: 'core-payload' })
    await using sealer = built
    await using opener = new EnvelopeOpener({ kms: fixture.kms, allowedKmsKeyArns: [key.keyArn] })
    const text = 'emoji 😀, a replacement character \ufffd on purpose, 中文'
    // JSON.stringify writes a lone surrogate as the escape \ud800, which JSON.parse restores.
    const json = { note: 'half a pair: \ud800', id: 7 }
    for (const sealed of [await sealer.seal(text), await sealer.seal(json, { contentType: 'json' })]) {
      const message = toMessage(sealed)
      await fixture.sqs.send(
        new SendMessageCommand({
          QueueUrl: queue.queueUrl,
          MessageBody: message.Body,
          MessageAttributes: sealed.messageAttributes,
        }),
      )
    }
    const received = await receiveAll(fixture.sqs, queue.queueUrl, 2, true)
    const opened = await Promise.all(received.map((message) => opener.open(message)))
    const values = opened.map((o) => o.value)
    expect(values).toHaveLength(2)
    expect(values).toContainEqual(text)
    expect(values).toContainEqual(json)
    const openedJson = values.find((value) => typeof value === 'object') as typeof json
    // Still the lone high surrogate, not U+FFFD.
    expect(openedJson.note.charCodeAt(openedJson.note.length - 1)).toBe(0xd800)
  }, 60_000)
})
