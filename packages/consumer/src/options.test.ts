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
    expect(rejection({ queueUrl: 'not a url' })).toBe('queueUrl must be an http(s) SQS queue URL; received "not a url"')
    expect(rejection({ queueUrl: [] })).toMatch(/^queueUrl must be a queue URL or a non-empty array/)
    expect(rejection({ queueUrl: [queueUrl, queueUrl] })).toMatch(/^queueUrl must be distinct queue URLs/)
    expect(rejection({ handleMessage: undefined })).toMatch(/^handleMessage must be a function/)
    expect(rejection({ handlerTimeoutMs: 1.5 })).toBe('handlerTimeoutMs must be an integer ≥ 1; received 1.5')
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
      /^breakerProbeMaxDelayMs must be an integer ≥ 5000/,
    )
    expect(rejection({ quarantineQueueUrl: 'queue' })).toMatch(/^quarantineQueueUrl must be an http\(s\) SQS queue URL/)
    expect(rejection({ drainTimeoutMs: -1 })).toBe('drainTimeoutMs must be an integer ≥ 0; received -1')
    expect(rejection({ stragglerAfterMs: 0 })).toBe('stragglerAfterMs must be an integer ≥ 1; received 0')
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

  it('stop() before start() resolves at once', async () => {
    const consumer = new EnvelopeConsumer({ queueUrl, region: 'us-east-1', handleMessage })
    await expect(consumer.stop()).resolves.toBeUndefined()
  })
})
