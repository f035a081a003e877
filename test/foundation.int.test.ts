import { randomBytes } from 'node:crypto'
import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms'
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs'
import { describe, expect, it } from 'vitest'
import { localstackFixture } from './support.ts'

const { target, sqs, kms, newKey, newQueue } = localstackFixture()

describe('LocalStack KMS', () => {
  it('GenerateDataKey(AES_256) then Decrypt returns the same 32 bytes', async () => {
    const key = await newKey()
    const generated = await kms.send(new GenerateDataKeyCommand({ KeyId: key.keyId, KeySpec: 'AES_256' }))
    expect(generated.Plaintext).toHaveLength(32)
    expect(generated.KeyId).toBe(key.keyArn)
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob }))
    expect(Buffer.from(decrypted.Plaintext ?? []).equals(Buffer.from(generated.Plaintext ?? []))).toBe(true)
    expect(decrypted.KeyId).toBe(key.keyArn)
  })

  it('an alias resolves to its key', async () => {
    const key = await newKey({ aliasPrefix: 'sqs-envelope-test' })
    const generated = await kms.send(new GenerateDataKeyCommand({ KeyId: key.alias, KeySpec: 'AES_256' }))
    expect(generated.KeyId).toBe(key.keyArn)
  })
})

describe('LocalStack SQS', () => {
  it('queue URLs name the endpoint host and port, not *.localhost.localstack.cloud (LocalStack-only: SQS_ENDPOINT_STRATEGY=path, LOCALSTACK_HOST)', async (ctx) => {
    ctx.skip(!target.isLocalStack, `LocalStack-only: ${target.endpoint} is another AWS-compatible endpoint`)
    const queue = await newQueue()
    // The SDK sends SQS calls to the queue URL's host: it must be this LocalStack, not another on 4566.
    const url = new URL(queue.queueUrl)
    const endpoint = new URL(target.endpoint)
    expect(url.port).toBe(endpoint.port)
    expect([endpoint.hostname, '127.0.0.1', 'localhost']).toContain(url.hostname)
    expect(url.pathname).toMatch(/^\/queue\//)
    expect(queue.queueUrl).not.toContain('localhost.localstack.cloud')
    await queue.delete()
  })

  it('create queue, send, receive, delete', async () => {
    const queue = await newQueue()
    const body = `hello ${randomBytes(8).toString('hex')}`
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: body }))
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, WaitTimeSeconds: 5, MaxNumberOfMessages: 10 }),
    )
    expect(Messages?.map((m) => m.Body)).toEqual([body])
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.queueUrl, ReceiptHandle: Messages?.[0]?.ReceiptHandle }))
    const after = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, WaitTimeSeconds: 1 }))
    expect(after.Messages ?? []).toEqual([])
    await queue.delete()
  })

  it('moves a message to the DLQ after maxReceiveCount receives', async () => {
    const queue = await newQueue({ deadLetterQueue: { maxReceiveCount: 2 }, visibilityTimeoutSeconds: 1 })
    const dlq = queue.deadLetterQueue
    if (!dlq) throw new Error('no DLQ created')
    const redrive = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['RedrivePolicy'] }),
    )
    expect(JSON.parse(redrive.Attributes?.RedrivePolicy ?? '{}')).toMatchObject({
      deadLetterTargetArn: dlq.queueArn,
      maxReceiveCount: 2,
    })
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: 'poison' }))
    // Receive without deleting, letting the visibility timeout lapse each time.
    let receives = 0
    for (let i = 0; i < 8 && receives < 2; i++) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, WaitTimeSeconds: 2, VisibilityTimeout: 1 }),
      )
      receives += Messages?.length ?? 0
    }
    expect(receives).toBe(2)
    let moved: string | undefined
    for (let i = 0; i < 10 && !moved; i++) {
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, WaitTimeSeconds: 1 }))
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.queueUrl, WaitTimeSeconds: 1 }))
      moved = Messages?.[0]?.Body
    }
    expect(moved).toBe('poison')
    await queue.delete()
  })
})
