import { randomBytes } from 'node:crypto'
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs'
import { EnvelopeOpener } from '@sqs-envelope/core'
import { encodeBody, parseBody } from '@sqs-envelope/core/wire'
import { describe, expect, it } from 'vitest'
import { recipePython, runRecipe } from './interop/python.ts'
import { localstackFixture } from './support.ts'

// The first run builds the recipe's virtualenv (boto3 + cryptography from PyPI).
const fixture = localstackFixture({ keys: 1, prepare: recipePython })
const { target, sqs, kms, newQueue, newSealer } = fixture

const common = () => ['--endpoint', target.endpoint, '--region', target.region]

describe('wire compatibility with the original Python recipe (boto3 + cryptography.fernet)', () => {
  it('what the Python recipe sends, we open', async () => {
    const queue = await newQueue()
    const payloads = ['hello from python', `unicode ✓ ${randomBytes(4).toString('hex')}`, 'x'.repeat(20_000)]
    const sentBodies: string[] = []
    for (const p of payloads) {
      const [out] = await runRecipe(
        ['send', ...common(), '--queue-url', queue.queueUrl, '--key-id', fixture.key.keyId],
        Buffer.from(p),
      )
      sentBodies.push(out?.body as string)
    }
    // Python's json.dumps and our encodeBody write the same bytes.
    for (const body of sentBodies) {
      const parsed = parseBody(body)
      expect(encodeBody(parsed.encryptedDataKey, parsed.token)).toBe(body)
    }
    const opener = new EnvelopeOpener({ kms, allowedKmsKeyArns: [fixture.key.keyArn] })
    const opened: string[] = []
    for (let i = 0; i < 10 && opened.length < payloads.length; i++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      )
      for (const m of Messages) {
        // The recipe sends no attributes: a plain v1 text message.
        expect(m.MessageAttributes).toBeUndefined()
        const result = await opener.open<string>(m)
        expect(result.contentType).toBe('text')
        expect(result.kmsKeyArn).toBe(fixture.key.keyArn)
        opened.push(result.value)
      }
    }
    expect(opened.sort()).toEqual([...payloads].sort())
    // One key per message on the Python side: three data keys, three Decrypts.
    expect(opener.metrics().decryptCalls).toBe(3)
    await queue.delete()
  })

  it('what we send, the Python recipe opens (with data-key reuse on our side)', async () => {
    const queue = await newQueue()
    const sealer = newSealer()
    const payloads: { value: unknown; contentType: 'text' | 'json' | 'bytes'; bytes: Buffer }[] = [
      { value: 'hello from node', contentType: 'text', bytes: Buffer.from('hello from node') },
      {
        value: { order: 42, note: 'ünïcode' },
        contentType: 'json',
        bytes: Buffer.from('{"order":42,"note":"ünïcode"}'),
      },
      { value: Buffer.from([0, 1, 2, 255]), contentType: 'bytes', bytes: Buffer.from([0, 1, 2, 255]) },
    ]
    for (const p of payloads) {
      const sealed = await sealer.seal(p.value, { contentType: p.contentType })
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queue.queueUrl,
          MessageBody: sealed.body,
          MessageAttributes: sealed.messageAttributes,
        }),
      )
    }
    expect(sealer.metrics().generateDataKeyCalls).toBe(1)
    const received = await runRecipe(['receive', ...common(), '--queue-url', queue.queueUrl, '--count', '3'])
    const got = received.map((r) => Buffer.from(r.plaintext_b64 as string, 'base64').toString('hex')).sort()
    expect(got).toEqual(payloads.map((p) => p.bytes.toString('hex')).sort())
    expect(new Set(received.map((r) => r.key_arn))).toEqual(new Set([fixture.key.keyArn]))
    await queue.delete()
  })
})
