// Traces across the queue against LocalStack, with the SDK's in-memory exporter: the producer's
// create and send spans, the consumer's receive and process spans and the Lambda handler's process
// spans form one trace through the AWSTraceHeader system attribute (no message attribute spent),
// and no exported span carries a secret.
import { AsyncLocalStorage } from 'node:async_hooks'
import { type Message, type MessageAttributeValue, SendMessageCommand } from '@aws-sdk/client-sqs'
import { type Context, type ContextManager, context, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import type { MeterProvider } from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { EnvelopeConsumer } from '@sqs-envelope/consumer'
import { fromXrayHeader } from '@sqs-envelope/core/internal'
import { createSqsHandler } from '@sqs-envelope/lambda'
import { Producer } from '@sqs-envelope/producer'
import { toLambdaSqsEvent } from '@sqs-envelope/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { receiveAll, waitFor } from './consumer-support.ts'
import { meterWithReader } from './metrics-support.ts'
import { findLeaks } from './reliability/leaks.ts'
import { captureDataKeys, localstackFixture } from './support.ts'

const fixture = localstackFixture()
const { sqs, kms } = fixture
const dataKeys = captureDataKeys(kms)
const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const MARKER = 'plaintext-marker-7f3a9c'
/** Every body and token sent, to search the spans for. */
const bodies: string[] = []

/** The smallest AsyncLocalStorage context manager (the SDK's lives in another package), so the active span follows awaits. */
class StorageContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>()
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args))
  }
  bind<T>(_ctx: Context, target: T): T {
    return target
  }
  enable(): this {
    return this
  }
  disable(): this {
    this.#storage.disable()
    return this
  }
}

beforeAll(() => {
  context.setGlobalContextManager(new StorageContextManager())
})
afterAll(() => {
  context.disable()
})

/** The spans exported since `from`, by name prefix. */
function spansSince(from: number) {
  const spans = exporter.getFinishedSpans().slice(from)
  return {
    spans,
    named: (prefix: string) => spans.filter((s) => s.name.startsWith(prefix)),
  }
}

function idOf(span: ReadableSpan | undefined) {
  return span?.spanContext().spanId
}

async function consumeOnce(queueUrl: string, expected: number, extra: { meterProvider?: MeterProvider } = {}) {
  const handled: Array<{ job: string; messageId: string; activeTraceId: string | undefined }> = []
  const consumer = new EnvelopeConsumer<string>({
    queueUrl,
    sqs,
    kms,
    tracerProvider,
    ...extra,
    waitTimeSeconds: 1,
    handleMessage: (job, ctx) => {
      handled.push({ job, messageId: ctx.messageId, activeTraceId: trace.getActiveSpan()?.spanContext().traceId })
    },
  })
  consumer.start()
  try {
    await waitFor(() => handled.length >= expected, 20_000, `${expected} jobs handled`)
    await consumer.onIdle()
  } finally {
    await consumer.close()
  }
  return handled
}

describe('traces against LocalStack', () => {
  it('one trace from producer.send to the consumer handler: create → (AWSTraceHeader) → process, send linked, receive linked, delete recorded', async () => {
    const { key, queue } = await fixture.newQueueWithKey({ prefix: 'traces' })
    const from = exporter.getFinishedSpans().length
    const producer = new Producer({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: key.keyId, tracerProvider })
    const root = tracerProvider.getTracer('test').startSpan('user operation')
    const sent = await context.with(trace.setSpan(context.active(), root), () =>
      producer.send([`${MARKER}-1`, `${MARKER}-2`]),
    )
    root.end()
    await producer.close()
    expect(sent.every((r) => r.ok)).toBe(true)

    const handled = await consumeOnce(queue.queueUrl, 2)
    const { named } = spansSince(from)
    const creates = named('create ')
    const [send] = named('send ')
    expect(creates).toHaveLength(2)
    for (const create of creates) {
      expect(create.spanContext().traceId).toBe(root.spanContext().traceId)
      expect(create.parentSpanContext?.spanId).toBe(root.spanContext().spanId)
    }
    expect(send?.attributes['messaging.batch.message_count']).toBe(2)
    expect(send?.links.map((l) => l.context.spanId).sort()).toEqual(creates.map(idOf).sort())

    const processes = named('process ')
    const receives = named('receive ')
    expect(processes).toHaveLength(2)
    for (const process of processes) {
      const messageId = process.attributes['messaging.message.id']
      const result = sent.find((r) => r.ok && r.messageId === messageId)
      expect(result).toBeDefined()
      expect(process.spanContext().traceId).toBe(root.spanContext().traceId)
      expect(creates.map(idOf)).toContain(process.parentSpanContext?.spanId)
      expect(receives.map(idOf)).toContain(process.links[0]?.context.spanId)
      expect(process.events.map((e) => e.attributes?.['sqs_envelope.settlement'])).toEqual(['delete'])
      expect(process.attributes).toMatchObject({
        'messaging.system': 'aws_sqs',
        'messaging.destination.name': queue.queueUrl.split('/').pop(),
        'aws.sqs.queue.url': queue.queueUrl,
      })
    }
    // The handler ran with its process span active: its own spans join the trace.
    expect(handled.map((h) => h.activeTraceId)).toEqual([root.spanContext().traceId, root.spanContext().traceId])
  }, 60_000)

  it('a job at the 10-attribute limit (8 of its own + the envelope’s 2) still carries its trace; traceparent is added only where there is room', async () => {
    const { key, queue } = await fixture.newQueueWithKey({ prefix: 'traces-full' })
    const from = exporter.getFinishedSpans().length
    const own: Record<string, MessageAttributeValue> = {}
    for (let i = 0; i < 8; i++) own[`app.a${i}`] = { DataType: 'String', StringValue: `v${i}` }
    const producer = new Producer({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      kmsKeyId: key.keyId,
      tracerProvider,
      traceAttributes: true,
    })
    const sent = await producer.send([
      { body: `${MARKER}-full`, messageAttributes: own },
      { body: `${MARKER}-room`, messageAttributes: { 'app.one': { DataType: 'String', StringValue: '1' } } },
    ])
    await producer.close()
    expect(sent.map((r) => r.ok)).toEqual([true, true])

    const messages = await receiveAll(sqs, queue.queueUrl, 2)
    const full = messages.find((m) => m.MessageAttributes?.['app.a0']) as Message
    const room = messages.find((m) => m.MessageAttributes?.['app.one']) as Message
    bodies.push(...messages.map((m) => m.Body as string))
    expect(Object.keys(full.MessageAttributes ?? {})).toHaveLength(10)
    expect(full.MessageAttributes?.traceparent).toBeUndefined()
    expect(room.MessageAttributes?.traceparent?.StringValue).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)

    const creates = spansSince(from).named('create ')
    for (const message of [full, room]) {
      const carried = fromXrayHeader(message.Attributes?.AWSTraceHeader)
      expect(creates.map(idOf)).toContain(carried?.spanId)
    }
  }, 60_000)

  it('the Lambda handler reads record.attributes.AWSTraceHeader: its process span is a child of the create span', async () => {
    const { key, queue } = await fixture.newQueueWithKey({ prefix: 'traces-lambda', deadLetterQueue: true })
    const from = exporter.getFinishedSpans().length
    const producer = new Producer({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: key.keyId, tracerProvider })
    await producer.send([`${MARKER}-lambda-ok`, `${MARKER}-lambda-fails`])
    await producer.close()
    const messages = await receiveAll(sqs, queue.queueUrl, 2)
    bodies.push(...messages.map((m) => m.Body as string))
    const event = toLambdaSqsEvent(messages, queue.queueArn)
    const handler = createSqsHandler<string>({
      sqs,
      kms,
      tracerProvider,
      allowedKmsKeyArns: [key.keyArn],
      handleMessage: (job) => {
        if (job.endsWith('fails')) throw new TypeError('the handler failed')
      },
    })
    const response = await handler(event, { getRemainingTimeInMillis: () => 60_000 })
    await handler.close()
    expect(response.batchItemFailures).toHaveLength(1)

    const { named } = spansSince(from)
    const creates = named('create ')
    const processes = named('process ')
    expect(processes).toHaveLength(2)
    for (const process of processes) {
      expect(creates.map(idOf)).toContain(process.parentSpanContext?.spanId)
      const failed = process.attributes['messaging.message.id'] === response.batchItemFailures[0]?.itemIdentifier
      expect(process.events.map((e) => e.attributes?.['sqs_envelope.settlement'])).toEqual([
        failed ? 'batch_item_failure' : 'delete',
      ])
      expect(process.status.code).toBe(failed ? 2 : 0)
      if (failed) expect(process.attributes['error.type']).toBe('TypeError')
    }
  }, 60_000)

  it('poison sent by another tool with its own AWSTraceHeader: the process span continues that trace, error status BODY_NOT_JSON, quarantine recorded', async () => {
    const queue = await fixture.newQueue({ prefix: 'traces-poison', deadLetterQueue: true })
    const from = exporter.getFinishedSpans().length
    const header = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.queueUrl,
        MessageBody: `not json ${MARKER}`,
        MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: header } },
      }),
    )
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      tracerProvider,
      waitTimeSeconds: 1,
      handleMessage: () => {},
    })
    let quarantined = 0
    consumer.on('message_quarantined', () => quarantined++)
    consumer.start()
    try {
      await waitFor(() => quarantined === 1, 20_000, 'the poison quarantined')
      await consumer.onIdle()
    } finally {
      await consumer.close()
    }
    const [process] = spansSince(from).named('process ')
    expect(process?.spanContext().traceId).toBe('5759e988bd862e3fe1be46a994272793')
    expect(process?.parentSpanContext).toMatchObject({ spanId: '53995c3f42cd8ad8', isRemote: true })
    expect(process?.status).toEqual({ code: 2, message: 'BODY_NOT_JSON' })
    expect(process?.events.map((e) => e.attributes?.['sqs_envelope.settlement'])).toEqual(['quarantine'])
  }, 60_000)

  it('metrics from the diagnostics channels: one subscription per meter provider, so each job is counted once across a producer and a consumer', async () => {
    const { key, queue } = await fixture.newQueueWithKey({ prefix: 'traces-metrics' })
    const { meterProvider, collect } = meterWithReader()
    const producer = new Producer({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: key.keyId, meterProvider })
    const sent = await producer.send([`${MARKER}-m1`, `${MARKER}-m2`, `${MARKER}-m3`])
    expect(sent.every((r) => r.ok)).toBe(true)
    await consumeOnce(queue.queueUrl, 3, { meterProvider })
    const { sums, text } = await collect()
    await producer.close()
    expect(sums).toMatchObject({
      'sqs_envelope.producer.messages.sent': 3,
      'sqs_envelope.producer.batch.duration': 1,
      'sqs_envelope.consumer.messages.received': 3,
      'sqs_envelope.consumer.messages.processed': 3,
    })
    expect(text).toContain(queue.queueUrl.split('/').pop())
    expect(findLeaks(text, MARKER, dataKeys)).toEqual([])
    // Both released: nothing is recorded after close.
    const untracked = new Producer({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: key.keyId })
    expect((await untracked.send('untracked'))[0]?.ok).toBe(true)
    await untracked.close()
    expect((await collect()).sums['sqs_envelope.producer.messages.sent']).toBe(3)
  }, 60_000)

  it('no exported span carries the plaintext, a body, a token or a data key', () => {
    const spans = exporter.getFinishedSpans()
    expect(spans.length).toBeGreaterThan(10)
    expect(dataKeys.length).toBeGreaterThan(0)
    const text = spans.map((s) =>
      JSON.stringify({
        name: s.name,
        attributes: s.attributes,
        events: s.events,
        links: s.links,
        status: s.status,
        resource: s.resource.attributes,
      }),
    )
    expect(findLeaks(text, MARKER, dataKeys)).toEqual([])
    for (const body of bodies) {
      const { encrypted_message: token, encrypted_data_key: wrapped } = JSON.parse(body)
      for (const part of text) {
        expect(part).not.toContain(token)
        expect(part).not.toContain(wrapped)
      }
    }
  })
})
