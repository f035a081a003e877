// Issue 23 item 5: stop({ timeoutMs }) bounds stop() itself, and requestTimeoutMs bounds every SQS
// request, even when SQS accepted a request and never answers (the fault proxy holds it).
import { SQSClient } from '@aws-sdk/client-sqs'
import { EnvelopeConsumer } from '@sqs-envelope/consumer'
import { EnvelopeSealer } from '@sqs-envelope/core'
import { createTestQueue, startFaultProxy } from '@sqs-envelope/testing'
import { describe, expect, it } from 'vitest'
import { queueDepth, recordEvents, sealedToRaw, sendRaw, waitFor } from './consumer-support.ts'
import { localstackWithKey } from './support.ts'

const fixture = localstackWithKey()

/** An SQS client through a fault proxy, one attempt per request (each shows what the proxy did). */
async function proxiedSqs() {
  const proxy = await startFaultProxy({ upstream: fixture.target.endpoint, lifetimeMs: 60_000 })
  const sqs = new SQSClient({
    endpoint: proxy.endpoint,
    region: fixture.target.region,
    credentials: fixture.target.credentials,
    maxAttempts: 1,
  })
  return { proxy, sqs }
}

async function sendJobs(queueUrl: string, count: number) {
  const sealer = new EnvelopeSealer({ kms: fixture.kms, kmsKeyId: fixture.key.keyId })
  const sealed = []
  for (let i = 0; i < count; i++) sealed.push(sealedToRaw(await sealer.seal(`job-${i}`)))
  await sendRaw(fixture.sqs, queueUrl, sealed)
  await sealer.close()
}

describe('EnvelopeConsumer: stop() is bounded when SQS never answers', () => {
  it('a DeleteMessageBatch held by the proxy: stop({ timeoutMs: 2000 }) aborts it and resolves in under 3 s; the jobs stay', async () => {
    const queue = await createTestQueue(fixture.sqs, { prefix: 'consumer-stop-bound', visibilityTimeoutSeconds: 30 })
    await sendJobs(queue.queueUrl, 3)
    const { proxy, sqs } = await proxiedSqs()
    // Held far longer than the test: only an abort ends these requests.
    void proxy.inject({
      service: 'sqs',
      operations: ['DeleteMessageBatch'],
      action: { kind: 'delay', ms: 55_000 },
      durationMs: 55_000,
    })
    let handled = 0
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms: fixture.kms,
      pollers: 1,
      waitTimeSeconds: 1,
      handleMessage: () => {
        handled++
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => (proxy.stats().byOperation['sqs.DeleteMessageBatch'] ?? 0) >= 1, 20_000, 'a held delete')
    expect(handled).toBe(3)
    const started = performance.now()
    await consumer.stop({ timeoutMs: 2000 })
    const stopMs = performance.now() - started
    console.info(
      `[consumer-stop-bound] stop({ timeoutMs: 2000 }) with a held DeleteMessageBatch took ${stopMs.toFixed(0)} ms`,
    )
    expect(stopMs).toBeGreaterThanOrEqual(1900)
    expect(stopMs).toBeLessThan(3000)
    expect(consumer.metrics()).toMatchObject({ processed: 0, inFlight: 0 })
    expect(events.error?.length).toBeGreaterThanOrEqual(1)
    // Not deleted: they come back (at least once).
    expect(await queueDepth(fixture.sqs, queue.queueUrl)).toBe(3)
    await proxy.close()
    sqs.destroy()
    await queue.delete()
  }, 60_000)

  it('requestTimeoutMs bounds a request SQS never answers while running: reported, the jobs come back, the consumer goes on', async () => {
    const queue = await createTestQueue(fixture.sqs, {
      prefix: 'consumer-request-timeout',
      visibilityTimeoutSeconds: 2,
    })
    await sendJobs(queue.queueUrl, 2)
    const { proxy, sqs } = await proxiedSqs()
    // Only the first delete is held; the redelivered jobs are deleted normally.
    void proxy.inject({
      service: 'sqs',
      operations: ['DeleteMessageBatch'],
      action: { kind: 'delay', ms: 30_000 },
      durationMs: 30_000,
      maxHits: 1,
    })
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms: fixture.kms,
      pollers: 1,
      waitTimeSeconds: 1,
      requestTimeoutMs: 1000,
      handleMessage: () => {},
    })
    const events = recordEvents(consumer)
    const started = performance.now()
    consumer.start()
    await waitFor(() => (events.error?.length ?? 0) >= 1, 10_000, 'the held delete timed out')
    const timedOutMs = performance.now() - started
    expect(timedOutMs).toBeLessThan(5000)
    await waitFor(() => (events.message_processed?.length ?? 0) >= 2, 20_000, 'the jobs redelivered and deleted')
    await consumer.stop({ timeoutMs: 2000 })
    expect(await queueDepth(fixture.sqs, queue.queueUrl)).toBe(0)
    await proxy.close()
    sqs.destroy()
    await queue.delete()
  }, 60_000)
})
