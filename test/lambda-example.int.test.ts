// examples/lambda-worker run as a user runs it locally: its handler invoked with the event Lambda
// would build from the queue (src/invoke-local.ts), on its own queue and key, against LocalStack.
import { Producer } from '@sqs-envelope/producer'
import { describe, expect, it } from 'vitest'
import { queueDepth, receiveAll, sendRaw } from './consumer-support.ts'
import { awsEnv, finished, jsonLines, startNode } from './harness.ts'
import { localstackFixture } from './support.ts'

const fixture = localstackFixture()
const { target, sqs, kms } = fixture

describe('examples/lambda-worker', () => {
  it('handles the orders, reports the failing one for redelivery, and moves poison to the DLQ intact', async () => {
    const [key, queue] = await Promise.all([
      fixture.newKey({ aliasPrefix: 'lambda-example' }),
      fixture.newQueue({ prefix: 'lambda-example', deadLetterQueue: true }),
    ])
    await using producer = Producer.create<'json'>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      kmsKeyId: key.keyId,
      contentType: 'json',
      encryptionContext: { app: 'orders-example' },
    })
    const orders = [1, 2, 3, 0].map((quantity, i) => ({ orderId: `order-${i + 1}`, customer: 'c', sku: 's', quantity }))
    const sent = await producer.send(orders)
    expect(sent.every((r) => r.ok)).toBe(true)
    await sendRaw(sqs, queue.queueUrl, [{ body: '{"encrypted_data_key": "junk"}' }])

    const run = await finished(
      startNode('examples/lambda-worker/src/invoke-local.ts', [], {
        env: {
          ...awsEnv(target),
          QUEUE_URL: queue.queueUrl,
          QUEUE_ARN: queue.queueArn,
          KMS_KEY_ARN: key.keyArn,
          REQUIRED_APP: 'orders-example',
        },
      }),
    )
    expect(run.code).toBe(0)
    const lines = jsonLines<{ orderId?: string; batchItemFailures?: Array<{ itemIdentifier: string }> }>(run.stdout)
    const summary = lines.at(-1)
    expect(
      lines
        .slice(0, -1)
        .map((l) => l.orderId)
        .sort(),
    ).toEqual(['order-1', 'order-2', 'order-3'])
    const failedOrder = sent.find((r) => r.index === 3)
    expect(summary).toEqual({
      batchItemFailures: [{ itemIdentifier: failedOrder?.ok ? failedOrder.messageId : '' }],
      deleted: 4,
    })
    // The logger says what happened, with ids and codes only.
    expect(run.stderr).toContain('message quarantined')
    expect(run.stderr).not.toContain('order-')
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(1)
    const dlq = await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string, 1)
    expect(dlq.map((m) => [m.Body, m.MessageAttributes?.['SqsEnvelope.QuarantineCode']?.StringValue])).toEqual([
      ['{"encrypted_data_key": "junk"}', 'BODY_SHAPE'],
    ])
  })
})
