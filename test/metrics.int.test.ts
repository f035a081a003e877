// Metrics against LocalStack, with the SDK's in-memory reader: the instruments built from the
// diagnostics channels (handler duration, end-to-end latency, in flight, KMS requests, unwrap-cache
// hits and misses, jobs sealed) record what a small producer → consumer (and Lambda handler) run
// did, and no data point carries a body, a token, a data key or the plaintext.
import type { Attributes } from '@opentelemetry/api'
import type { Histogram } from '@opentelemetry/sdk-metrics'
import { EnvelopeConsumer } from '@sqs-envelope/consumer'
import { createSqsHandler } from '@sqs-envelope/lambda'
import { Producer } from '@sqs-envelope/producer'
import { toLambdaSqsEvent } from '@sqs-envelope/testing'
import { describe, expect, it } from 'vitest'
import { receiveAll, waitFor } from './consumer-support.ts'
import { meterWithReader, type Point } from './metrics-support.ts'
import { findLeaks } from './reliability/leaks.ts'
import { captureDataKeys, localstackFixture } from './support.ts'

const fixture = localstackFixture()
const { sqs, kms } = fixture
const dataKeys = captureDataKeys(kms)
const MARKER = 'plaintext-marker-5c1e8b'
const HANDLER_MS = 25

/** Every attribute a data point may carry: names, codes and outcomes only. */
const ALLOWED_ATTRIBUTES = new Set([
  'messaging.system',
  'messaging.destination.name',
  'error.type',
  'sqs_envelope.handler.outcome',
  'sqs_envelope.kms.outcome',
  'sqs_envelope.cache',
  'rpc.system',
  'rpc.service',
  'rpc.method',
])

function histogram(points: Map<string, Point[]>, name: string, match: Attributes = {}): Histogram[] {
  return (points.get(name) ?? [])
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .map((p) => p.value as Histogram)
}

function sum(points: Map<string, Point[]>, name: string, match: Attributes = {}): number {
  return (points.get(name) ?? [])
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((total, p) => total + (p.value as number), 0)
}

/** Leak search over the exported text, and every attribute name on the allow-list. */
function expectNoSecrets(points: Map<string, Point[]>, text: string, bodies: readonly string[]) {
  expect(dataKeys.length).toBeGreaterThan(0)
  expect(findLeaks(text, MARKER, dataKeys)).toEqual([])
  for (const body of bodies) {
    const { encrypted_message: token, encrypted_data_key: wrapped } = JSON.parse(body)
    expect(text).not.toContain(token)
    expect(text).not.toContain(wrapped)
  }
  const names = new Set([...points.values()].flat().flatMap((p) => Object.keys(p.attributes)))
  expect([...names].filter((n) => !ALLOWED_ATTRIBUTES.has(n))).toEqual([])
}

describe('metrics against LocalStack', () => {
  it('producer → consumer: jobs sealed, handler duration, end-to-end latency (SentTimestamp), in flight, KMS requests and unwrap-cache hits/misses', async () => {
    const { key, queue } = await fixture.newQueueWithKey({ prefix: 'metrics-consumer' })
    const queueName = queue.queueUrl.split('/').pop()
    const { meterProvider, collect } = meterWithReader()
    const producer = new Producer({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: key.keyId, meterProvider })
    const sent = await producer.send([`${MARKER}-1`, `${MARKER}-2`, `${MARKER}-3`])
    expect(sent.every((r) => r.ok)).toBe(true)
    const generateCalls = producer.metrics().kms.generateDataKeyCalls
    await producer.close()

    let inFlightDuringHandler: number | undefined
    const handled: string[] = []
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      meterProvider,
      waitTimeSeconds: 1,
      handleMessage: async (job) => {
        if (inFlightDuringHandler === undefined) {
          inFlightDuringHandler = sum((await collect()).points, 'sqs_envelope.consumer.messages.in_flight')
        }
        await new Promise((resolve) => setTimeout(resolve, HANDLER_MS))
        handled.push(job)
      },
    })
    consumer.start()
    try {
      await waitFor(() => handled.length >= 3, 20_000, '3 jobs handled')
      await waitFor(() => consumer.metrics().processed >= 3, 10_000, '3 jobs deleted')
      await consumer.onIdle()
    } finally {
      await consumer.close()
    }
    const decryptCalls = consumer.metrics().kmsDecryptCalls
    const { points, units, text } = await collect()
    const queueAttr = { 'messaging.destination.name': queueName }

    expect(sum(points, 'sqs_envelope.producer.jobs.sealed', queueAttr)).toBe(3)

    const durations = histogram(points, 'sqs_envelope.consumer.handler.duration', {
      ...queueAttr,
      'sqs_envelope.handler.outcome': 'ok',
    })
    expect(durations).toHaveLength(1)
    expect(durations[0]?.count).toBe(3)
    // Timers may fire up to a millisecond early.
    expect(durations[0]?.min).toBeGreaterThanOrEqual(HANDLER_MS - 1)

    const latency = histogram(points, 'sqs_envelope.consumer.message.latency', queueAttr)
    expect(latency).toHaveLength(1)
    expect(latency[0]?.count).toBe(3)
    // Sent before the handler ran, deleted after it: at least the handler's time, and well under a minute.
    expect(latency[0]?.min).toBeGreaterThanOrEqual(HANDLER_MS - 1)
    expect(latency[0]?.max).toBeLessThan(60_000)

    expect(inFlightDuringHandler).toBeGreaterThanOrEqual(1)
    expect(sum(points, 'sqs_envelope.consumer.messages.in_flight', queueAttr)).toBe(0)

    const kmsOk = (method: string) =>
      sum(points, 'sqs_envelope.kms.requests', { 'rpc.method': method, 'sqs_envelope.kms.outcome': 'ok' })
    expect(generateCalls).toBeGreaterThanOrEqual(1)
    expect(kmsOk('GenerateDataKey')).toBe(generateCalls)
    expect(kmsOk('Decrypt')).toBe(decryptCalls)
    expect(sum(points, 'sqs_envelope.kms.requests')).toBe(generateCalls + decryptCalls)
    expect(histogram(points, 'sqs_envelope.kms.request.duration', { 'rpc.method': 'Decrypt' })[0]?.count).toBe(
      decryptCalls,
    )
    const hits = sum(points, 'sqs_envelope.kms.unwrap_cache.hits')
    const misses = sum(points, 'sqs_envelope.kms.unwrap_cache.misses')
    expect(hits + misses).toBe(3)
    expect(misses).toBe(decryptCalls)

    expect(units).toMatchObject({
      'sqs_envelope.consumer.handler.duration': 'ms',
      'sqs_envelope.consumer.message.latency': 'ms',
      'sqs_envelope.consumer.messages.in_flight': '{message}',
      'sqs_envelope.kms.requests': '{request}',
      'sqs_envelope.kms.request.duration': 'ms',
      'sqs_envelope.kms.unwrap_cache.hits': '{open}',
      'sqs_envelope.producer.jobs.sealed': '{message}',
    })
    expectNoSecrets(points, text, [])
  }, 60_000)

  it('Lambda handler: handler duration by outcome, end-to-end latency for the processed record, a Decrypt per data key', async () => {
    const { key, queue } = await fixture.newQueueWithKey({ prefix: 'metrics-lambda', deadLetterQueue: true })
    const queueName = queue.queueUrl.split('/').pop()
    const producer = new Producer({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: key.keyId })
    await producer.send([`${MARKER}-ok`, `${MARKER}-fails`])
    await producer.close()
    const messages = await receiveAll(sqs, queue.queueUrl, 2)
    const bodies = messages.map((m) => m.Body as string)
    const { meterProvider, collect } = meterWithReader()
    const handler = createSqsHandler<string>({
      sqs,
      kms,
      meterProvider,
      allowedKmsKeyArns: [key.keyArn],
      handleMessage: (job) => {
        if (job.endsWith('fails')) throw new TypeError('the handler failed')
      },
    })
    const response = await handler(toLambdaSqsEvent(messages, queue.queueArn), {
      getRemainingTimeInMillis: () => 60_000,
    })
    await handler.close()
    expect(response.batchItemFailures).toHaveLength(1)
    const { points, text } = await collect()
    const queueAttr = { 'messaging.destination.name': queueName }

    for (const outcome of ['ok', 'failed']) {
      const durations = histogram(points, 'sqs_envelope.lambda.handler.duration', {
        ...queueAttr,
        'sqs_envelope.handler.outcome': outcome,
      })
      expect(durations.map((d) => d.count)).toEqual([1])
    }
    const latency = histogram(points, 'sqs_envelope.lambda.message.latency', queueAttr)
    expect(latency.map((h) => h.count)).toEqual([1])
    expect(latency[0]?.min).toBeGreaterThanOrEqual(0)
    expect(latency[0]?.max).toBeLessThan(60_000)
    expect(
      sum(points, 'sqs_envelope.kms.requests', { 'rpc.method': 'Decrypt', 'sqs_envelope.kms.outcome': 'ok' }),
    ).toBe(1)
    expect(sum(points, 'sqs_envelope.kms.unwrap_cache.misses')).toBe(1)
    expect(sum(points, 'sqs_envelope.kms.unwrap_cache.hits')).toBe(1)
    expectNoSecrets(points, text, bodies)
  }, 60_000)
})
