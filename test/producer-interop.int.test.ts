import { Producer } from '@sqs-envelope/producer'
import { describe, expect, it } from 'vitest'
import { recipePython, runRecipe } from './interop/python.ts'
import { localstackWithKey } from './support.ts'

// The first run builds the recipe's virtualenv (boto3 + cryptography from PyPI); later runs reuse it.
const context = localstackWithKey(recipePython)
const { target, sqs, kms, newQueue } = context

describe('Producer interop with the original Python recipe (boto3 + cryptography.fernet)', () => {
  it('what the producer sends in batches, with data-key reuse, the recipe opens', async () => {
    const queue = await newQueue()
    const producer = Producer.create({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: context.key.keyId })
    const jobs = [
      'hello from the producer',
      { contentType: 'json' as const, body: { order: 42, note: 'ünïcode' } },
      { contentType: 'bytes' as const, body: Buffer.from([0, 1, 2, 255]) },
      { body: 'with attributes', messageAttributes: { tenant: { DataType: 'String', StringValue: 't1' } } },
      'x'.repeat(100_000),
    ]
    const results = await producer.send(jobs)
    expect(results.every((r) => r.ok)).toBe(true)
    expect(producer.metrics().kms.generateDataKeyCalls).toBe(1)
    const received = await runRecipe([
      'receive',
      '--endpoint',
      target.endpoint,
      '--region',
      target.region,
      '--queue-url',
      queue.queueUrl,
      '--count',
      String(jobs.length),
    ])
    const expected = [
      Buffer.from('hello from the producer'),
      Buffer.from('{"order":42,"note":"ünïcode"}'),
      Buffer.from([0, 1, 2, 255]),
      Buffer.from('with attributes'),
      Buffer.from('x'.repeat(100_000)),
    ]
    const got = received.map((r) => Buffer.from(r.plaintext_b64 as string, 'base64').toString('hex')).sort()
    expect(got).toEqual(expected.map((b) => b.toString('hex')).sort())
    expect(new Set(received.map((r) => r.key_arn))).toEqual(new Set([context.key.keyArn]))
    await producer.close()
    await queue.delete()
  })
})
