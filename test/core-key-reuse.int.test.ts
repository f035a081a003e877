import { type Message, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs'
import { EnvelopeOpener, type EnvelopeSealer, type SealedMessage, type SealerOptions } from '@sqs-envelope/core'
import { createKmsClient } from '@sqs-envelope/testing'
import { describe, expect, it } from 'vitest'
import { countKmsCalls, localstackFixture, mapLimit } from './support.ts'

const fixture = localstackFixture({ keys: 1 })
const { target, sqs, newQueue, newSealer } = fixture
const N = 1000
const payloads = Array.from({ length: N }, (_, i) => `job ${i} ${'x'.repeat(i % 50)}`)

/** A fresh KMS client whose requests are counted, so each test sees only its own calls. */
function countedKms() {
  const client = createKmsClient(target)
  return { client, counts: countKmsCalls(client) }
}

async function sealAll(sealer: EnvelopeSealer): Promise<SealedMessage[]> {
  const { results, maxInFlight } = await mapLimit(payloads, 50, (p) => sealer.seal(p))
  expect(maxInFlight).toBe(50)
  return results
}

async function openAll(opener: EnvelopeOpener, messages: readonly Pick<Message, 'Body' | 'MessageAttributes'>[]) {
  const { results, maxInFlight } = await mapLimit(messages, 50, (m) => opener.open<string>(m))
  expect(maxInFlight).toBe(50)
  return results.map((r) => r.value)
}

describe('data-key reuse against LocalStack KMS', () => {
  it('1,000 messages sealed 50 at a time make exactly 1 GenerateDataKey; opened 50 at a time, exactly 1 Decrypt', async () => {
    const sender = countedKms()
    const sealer = newSealer({ kms: sender.client })
    const sealed = await sealAll(sealer)
    expect(sender.counts).toEqual({ GenerateDataKeyCommand: 1 })
    expect(sealer.metrics()).toMatchObject({ generateDataKeyCalls: 1, cacheMisses: 1, cacheHits: N - 1 })

    // Through a real queue: send all 1,000, receive them, open them.
    const queue = await newQueue()
    for (let i = 0; i < N; i += 10) {
      const batch = sealed.slice(i, i + 10).map((s, j) => ({
        Id: String(j),
        MessageBody: s.body,
        MessageAttributes: s.messageAttributes,
      }))
      const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.queueUrl, Entries: batch }))
      expect(out.Failed ?? []).toEqual([])
    }
    const received: Message[] = []
    while (received.length < N) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 120,
          MessageAttributeNames: ['All'],
        }),
      )
      if (Messages.length === 0) break
      received.push(...Messages)
    }
    expect(received).toHaveLength(N)

    const receiver = countedKms()
    const opener = new EnvelopeOpener({ kms: receiver.client })
    const opened = await openAll(opener, received)
    expect(opened.sort()).toEqual([...payloads].sort())
    expect(receiver.counts).toEqual({ DecryptCommand: 1 })
    expect(opener.metrics()).toMatchObject({ decryptCalls: 1, cacheMisses: 1, cacheHits: N - 1 })
    await sealer.close()
    await opener.close()
    await queue.delete()
  })

  /** Seals the 1,000 payloads with these options, opens them with a fresh opener; returns each side's KMS calls. */
  async function roundTrip(options: Omit<SealerOptions, 'kms' | 'kmsKeyId'>) {
    const sender = countedKms()
    const sealed = await sealAll(newSealer({ kms: sender.client, ...options }))
    const receiver = countedKms()
    const opened = await openAll(
      new EnvelopeOpener({ kms: receiver.client }),
      sealed.map((s) => ({ Body: s.body, MessageAttributes: s.messageAttributes })),
    )
    expect(opened).toEqual(payloads)
    return { sender: sender.counts, receiver: receiver.counts }
  }

  it('reuse: false makes 1,000 GenerateDataKey and 1,000 Decrypt, as the original recipe', async () => {
    expect(await roundTrip({ reuse: false })).toEqual({
      sender: { GenerateDataKeyCommand: N },
      receiver: { DecryptCommand: N },
    })
  })

  it('a limit of 100 messages per data key makes 10 GenerateDataKey for 1,000 messages (and 10 Decrypt)', async () => {
    expect(await roundTrip({ maxMessagesPerDataKey: 100 })).toEqual({
      sender: { GenerateDataKeyCommand: 10 },
      receiver: { DecryptCommand: 10 },
    })
  })
})
