import type { SQSClient } from '@aws-sdk/client-sqs'
import { isSqsEnvelopeError } from '@sqs-envelope/core'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { EnvelopeConsumer } from './consumer.ts'
import type { ConsumerEvents } from './events.ts'
import type { MessageContext, ReceivedJob } from './handler.ts'
import { CONSUMER_DEFAULTS, type ConsumerOptions, resolveConsumerOptions } from './options.ts'

const queueUrl = 'http://127.0.0.1:4566/000000000000/q'
const handleMessage = () => {}

function rejection(options: Partial<ConsumerOptions>): string {
  try {
    resolveConsumerOptions({ queueUrl, handleMessage, ...options } as ConsumerOptions)
  } catch (error) {
    if (isSqsEnvelopeError(error) && error.code === 'OPTION_INVALID') return error.message
    throw error
  }
  throw new Error('no error thrown')
}

describe('resolveConsumerOptions', () => {
  it('fills in the defaults, always asking for ApproximateReceiveCount and MessageGroupId', () => {
    expect(resolveConsumerOptions({ queueUrl, handleMessage })).toMatchObject({
      queueUrls: [queueUrl],
      pollers: CONSUMER_DEFAULTS.pollers,
      batchSize: 10,
      waitTimeSeconds: 20,
      visibilityTimeout: undefined,
      messageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
      transientBackoff: { baseDelaySeconds: 2, maxDelaySeconds: 300 },
      handlerErrorBackoff: false,
      breakerThreshold: 3,
      drainTimeoutMs: 30_000,
      stragglerAfterMs: 1000,
    })
  })

  it('accepts several queues and keeps user attribute names without duplicates', () => {
    const resolved = resolveConsumerOptions({
      queueUrl: [queueUrl, `${queueUrl}2`],
      handleMessage,
      messageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
    })
    expect(resolved.queueUrls).toHaveLength(2)
    expect(resolved.messageSystemAttributeNames).toEqual(['ApproximateReceiveCount', 'MessageGroupId', 'SentTimestamp'])
  })

  it('names the option, the expectation and the value received', () => {
    expect(rejection({ pollers: 0 })).toBe('pollers must be an integer from 1 to 64; received 0')
    expect(rejection({ batchSize: 11 })).toBe('batchSize must be an integer from 1 to 10; received 11')
    expect(rejection({ waitTimeSeconds: 0 })).toBe('waitTimeSeconds must be an integer from 1 to 20; received 0')
    expect(rejection({ queueUrl: 'not a url' })).toMatch(
      /^queueUrl must be an http\(s\) SQS queue URL.*; received "not a url"$/,
    )
    expect(rejection({ queueUrl: [] })).toMatch(/^queueUrl must be a queue URL or a non-empty array/)
    expect(rejection({ queueUrl: [queueUrl, queueUrl] })).toMatch(/^queueUrl must be distinct queue URLs/)
    expect(rejection({ handleMessage: undefined })).toMatch(/^handleMessage must be a function/)
    expect(rejection({ handlerTimeoutMs: 1.5 })).toBe(
      'handlerTimeoutMs must be an integer from 1 to 2147483647; received 1.5',
    )
    expect(rejection({ heartbeatInterval: 10 })).toBe(
      'heartbeatInterval must be less than visibilityTimeout (undefined); received 10',
    )
    expect(rejection({ heartbeatInterval: 30, visibilityTimeout: 30 })).toMatch(/^heartbeatInterval must be less than/)
    expect(rejection({ transientBackoff: { baseDelaySeconds: 10, maxDelaySeconds: 5 } })).toBe(
      'transientBackoff.maxDelaySeconds must be an integer from 10 to 43200; received 5',
    )
    expect(rejection({ handlerErrorBackoff: { maxDelaySeconds: 50_000 } })).toMatch(
      /^handlerErrorBackoff.maxDelaySeconds/,
    )
    expect(rejection({ breakerThreshold: -1 })).toBe('breakerThreshold must be an integer ≥ 0; received -1')
    expect(rejection({ breakerProbeBaseDelayMs: 5000, breakerProbeMaxDelayMs: 10 })).toMatch(
      /^breakerProbeMaxDelayMs must be an integer from 5000 to 2147483647/,
    )
    expect(rejection({ quarantineQueueUrl: 'queue' })).toMatch(/^quarantineQueueUrl must be an http\(s\) SQS queue URL/)
    expect(rejection({ drainTimeoutMs: -1 })).toBe(
      'drainTimeoutMs must be an integer from 0 to 2147483647; received -1',
    )
    expect(rejection({ stragglerAfterMs: 0 })).toBe(
      'stragglerAfterMs must be an integer from 1 to 2147483647; received 0',
    )
  })

  it('refuses a timer option longer than a Node.js timer can wait (it would fire after 1 ms)', () => {
    const tooLong = 2 ** 31
    for (const name of [
      'handlerTimeoutMs',
      'breakerProbeBaseDelayMs',
      'breakerProbeMaxDelayMs',
      'stragglerAfterMs',
      'drainTimeoutMs',
    ] as const) {
      expect(rejection({ [name]: tooLong })).toMatch(new RegExp(`^${name} must be an integer from \\d+ to 2147483647`))
    }
    expect(resolveConsumerOptions({ queueUrl, handleMessage, handlerTimeoutMs: 2 ** 31 - 1 }).handlerTimeoutMs).toBe(
      2 ** 31 - 1,
    )
  })

  it('stop({ timeoutMs }) refuses a timeout longer than a timer can wait', async () => {
    // A stand-in client whose long poll waits until aborted: no network in a unit test.
    const sqs = {
      send: (_command: unknown, options?: { abortSignal?: AbortSignal }) =>
        new Promise((_resolve, reject) =>
          options?.abortSignal?.addEventListener('abort', () => reject(options.abortSignal?.reason)),
        ),
    } as unknown as SQSClient
    const consumer = new EnvelopeConsumer({ queueUrl, handleMessage, sqs, region: 'us-east-1' })
    consumer.start()
    try {
      await expect(consumer.stop({ timeoutMs: 2 ** 31 })).rejects.toThrow(
        'timeoutMs must be an integer from 0 to 2147483647; received 2147483648',
      )
    } finally {
      await consumer.stop({ timeoutMs: 0 })
    }
  })

  it('the constructor validates (no client is built for bad options), and core options are checked too', () => {
    expect(() => new EnvelopeConsumer({ queueUrl, handleMessage, pollers: 100 })).toThrow(/pollers must be/)
    expect(() => new EnvelopeConsumer({ queueUrl, handleMessage, kmsConcurrency: 0 })).toThrow(/kmsConcurrency/)
  })
})

describe('public types', () => {
  it('the job type flows from the generic to the handlers and events are typed', () => {
    const consumer = new EnvelopeConsumer<{ id: number }>({
      queueUrl,
      region: 'us-east-1',
      handleMessage: (job, context) => {
        expectTypeOf(job).toEqualTypeOf<{ id: number }>()
        expectTypeOf(context).toEqualTypeOf<MessageContext>()
        expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>()
      },
      handleMessageBatch: (jobs) => {
        expectTypeOf(jobs).toEqualTypeOf<ReadonlyArray<ReceivedJob<{ id: number }>>>()
        return { batchItemFailures: [{ itemIdentifier: jobs[0]?.messageId ?? '' }] }
      },
    })
    consumer.on('message_quarantined', (event) => {
      expectTypeOf(event.code).toBeString()
      expectTypeOf(event.moved).toBeBoolean()
    })
    expectTypeOf<ConsumerEvents['transient_error'][1]['retryInSeconds']>().toBeNumber()
    expectTypeOf(consumer.stop).returns.toEqualTypeOf<Promise<void>>()
    expectTypeOf(consumer.metrics().maxInFlight).toBeNumber()
    // @ts-expect-error: an unknown event name
    consumer.on('message_recieved', () => {})
    expect(consumer.status).toEqual({ isRunning: false, isPolling: false, state: 'stopped', breaker: 'closed' })
    expect(JSON.stringify(consumer)).toBe(`{"queueUrls":["${queueUrl}"],"state":"stopped"}`)
  })

  it('start() after Symbol.asyncDispose throws CLOSED (the clients it built are destroyed); disposing twice is fine', async () => {
    const consumer = new EnvelopeConsumer({ queueUrl, handleMessage, region: 'us-east-1' })
    await consumer[Symbol.asyncDispose]()
    await consumer[Symbol.asyncDispose]()
    let error: unknown
    try {
      consumer.start()
    } catch (caught) {
      error = caught
    }
    if (error === undefined) await consumer.stop({ timeoutMs: 0 })
    expect(isSqsEnvelopeError(error) && error.code).toBe('CLOSED')
  })

  it('stop() before start() resolves at once', async () => {
    const consumer = new EnvelopeConsumer({ queueUrl, region: 'us-east-1', handleMessage })
    await expect(consumer.stop()).resolves.toBeUndefined()
  })
})
