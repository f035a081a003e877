// Issue 23 item 5 (producer): SQS accepting SendMessageBatch and never answering must not hang a send.
// The fault proxy holds the request (it would forward it only after a minute; closing the proxy drops it).
import { SQSClient } from '@aws-sdk/client-sqs'
import { Producer, type SendResult } from '@sqs-envelope/producer'
import { createTestQueue, startFaultProxy } from '@sqs-envelope/testing'
import { describe, expect, it, onTestFinished } from 'vitest'
import { localstackWithKey, receiveAll } from './support.ts'

const context = localstackWithKey()
const { target, sqs, kms } = context

/** A queue of its own and a fault proxy in front of LocalStack, both gone after the test. */
async function setup() {
  const queue = await createTestQueue(sqs)
  const proxy = await startFaultProxy({ upstream: target.endpoint, lifetimeMs: 60_000 })
  onTestFinished(async () => {
    await proxy.close()
    await queue.delete()
  })
  const client = (maxAttempts: number) => {
    const through = new SQSClient({
      endpoint: proxy.endpoint,
      region: target.region,
      credentials: { ...target.credentials },
      maxAttempts,
    })
    onTestFinished(() => through.destroy())
    return through
  }
  return { queue, proxy, client }
}

/** SendMessageBatch requests are held for a minute: as if SQS took them and never answered. */
function neverAnswer(proxy: Awaited<ReturnType<typeof startFaultProxy>>, maxHits?: number) {
  void proxy.inject({
    service: 'sqs',
    operations: ['SendMessageBatch'],
    action: { kind: 'delay', ms: 60_000 },
    durationMs: 30_000,
    ...(maxHits === undefined ? {} : { maxHits }),
  })
}

function summary(result: SendResult | undefined) {
  return result?.ok === false
    ? [
        result.error.code,
        result.error.sqsCode,
        result.error.retryable,
        result.error.mayHaveBeenSent,
        result.error.attempts,
      ]
    : result?.ok
}

describe('Producer: a SendMessageBatch that SQS never answers', () => {
  it('times out after requestTimeoutMs and is retried: the job is sent once, in well under a second or two', async () => {
    const { queue, proxy, client } = await setup()
    neverAnswer(proxy, 1)
    const producer = new Producer({
      queueUrl: queue.queueUrl,
      kmsKeyId: context.key.keyId,
      kms,
      sqs: client(1), // SDK retries off: ours apply
      requestTimeoutMs: 500,
      sqsRetryBaseDelayMs: 10,
    })
    const started = Date.now()
    const [result] = await producer.send('held, then sent again')
    const elapsed = Date.now() - started
    expect(result?.ok).toBe(true)
    expect(elapsed).toBeGreaterThanOrEqual(450)
    expect(elapsed).toBeLessThan(5_000)
    expect(proxy.stats().injected.delay).toBe(1)
    expect(producer.metrics()).toMatchObject({ messagesSent: 1, batches: 2, retries: 1 })
    await proxy.close() // the held request is dropped, never forwarded
    expect(await receiveAll(sqs, queue.queueUrl, 2)).toHaveLength(1)
    await producer.close()
  })

  it('when every attempt times out, each job is reported SQS_UNAVAILABLE (TimeoutError, may have been sent)', async () => {
    const { queue, proxy, client } = await setup()
    neverAnswer(proxy)
    const producer = new Producer({
      queueUrl: queue.queueUrl,
      kmsKeyId: context.key.keyId,
      kms,
      sqs: client(1),
      requestTimeoutMs: 300,
      sqsMaxAttempts: 3,
      sqsRetryBaseDelayMs: 10,
    })
    const started = Date.now()
    const results = await producer.send(['a', 'b', 'c'])
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(results.map(summary)).toEqual(
      Array.from({ length: 3 }, () => ['SQS_UNAVAILABLE', 'TimeoutError', true, true, 3]),
    )
    expect(proxy.stats().injected.delay).toBe(3)
    await producer.close()
  })

  it('an injected client with SDK retries on: one timed-out attempt of ours, reported at once', async () => {
    const { queue, proxy, client } = await setup()
    neverAnswer(proxy)
    const producer = new Producer({
      queueUrl: queue.queueUrl,
      kmsKeyId: context.key.keyId,
      kms,
      sqs: client(3), // the SDK retries a failed request; an aborted one it does not
      requestTimeoutMs: 300,
    })
    const [result] = await producer.send('x')
    expect(summary(result)).toEqual(['SQS_UNAVAILABLE', 'TimeoutError', true, true, 1])
    expect(proxy.stats().injected.delay).toBe(1)
    // close() does not wait for anything held: the send has settled.
    const closing = Date.now()
    await producer.close()
    expect(Date.now() - closing).toBeLessThan(1_000)
  })
})
