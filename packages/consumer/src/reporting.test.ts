import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { EventEmitter } from 'node:events'
import type { Message } from '@aws-sdk/client-sqs'
import { SqsEnvelopeError } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import type { ConsumerEvents } from './events.ts'
import {
  CONSUMER_CHANNELS,
  CONSUMER_DIAGNOSTICS_CHANNEL,
  CONSUMER_MEASURE_CHANNELS,
  ConsumerReporter,
  handlerObserved,
} from './reporting.ts'

const queueUrl = 'http://127.0.0.1:4566/000000000000/r'
const message: Message = { MessageId: 'm1', Body: 'secret body', Attributes: { ApproximateReceiveCount: '2' } }

describe('ConsumerReporter', () => {
  it('one channel per event named as the event, and the deprecated channel still published; never a body', () => {
    const own: Array<[string, unknown]> = []
    const legacy: unknown[] = []
    const listeners = Object.entries(CONSUMER_CHANNELS).map(([event, name]) => {
      const listener = (m: unknown) => own.push([event, m])
      subscribe(name, listener)
      return () => unsubscribe(name, listener)
    })
    const onLegacy = (m: unknown) => legacy.push(m)
    subscribe(CONSUMER_DIAGNOSTICS_CHANNEL, onLegacy)
    try {
      const reporter = new ConsumerReporter(new EventEmitter<ConsumerEvents>(), undefined)
      reporter.received(queueUrl, [message])
      reporter.processed(reporter.ref(message, queueUrl))
      reporter.handlerFailed(new Error('x'), 'failed', queueUrl, [message])
      reporter.handlerFailed(new SqsEnvelopeError('HANDLER_TIMEOUT', 't'), 'timeout', queueUrl, [message])
      reporter.transient(new SqsEnvelopeError('KMS_THROTTLED', 'slow'), message, queueUrl, 4)
    } finally {
      for (const off of listeners) off()
      unsubscribe(CONSUMER_DIAGNOSTICS_CHANNEL, onLegacy)
    }
    expect(CONSUMER_CHANNELS.message_processed).toBe('sqs-envelope:consumer:message_processed')
    expect(own).toEqual([
      ['message_received', { queueUrl, count: 1 }],
      ['message_processed', { queueUrl, count: 1 }],
      ['processing_error', { queueUrl, count: 1 }],
      ['timeout_error', { queueUrl, count: 1 }],
      ['transient_error', { queueUrl, count: 1, code: 'KMS_THROTTLED' }],
    ])
    expect(legacy).toEqual([
      { event: 'received', queueUrl, count: 1 },
      { event: 'processed', queueUrl, count: 1 },
      { event: 'failed', queueUrl, count: 1 },
      { event: 'failed', queueUrl, count: 1 },
      { event: 'transient_retry', queueUrl, count: 1, code: 'KMS_THROTTLED' },
    ])
    expect(JSON.stringify([own, legacy])).not.toContain('secret')
  })

  it('deleted(): counted and published either way; message_processed with its ref only to a listener', () => {
    const published: unknown[] = []
    const onPublish = (m: unknown) => published.push(m)
    subscribe(CONSUMER_CHANNELS.message_processed, onPublish)
    try {
      const emitter = new EventEmitter<ConsumerEvents>()
      const reporter = new ConsumerReporter(emitter, undefined)
      reporter.deleted(message, queueUrl)
      const refs: unknown[] = []
      emitter.on('message_processed', (ref) => refs.push(ref))
      reporter.deleted(message, queueUrl)
      expect(reporter.counts.processed).toBe(2)
      expect(published).toEqual([
        { queueUrl, count: 1 },
        { queueUrl, count: 1 },
      ])
      expect(refs).toEqual([{ messageId: 'm1', queueUrl, receiveCount: 2 }])
    } finally {
      unsubscribe(CONSUMER_CHANNELS.message_processed, onPublish)
    }
  })

  it('counts in flight and resolves onIdle when the last message finishes', async () => {
    const reporter = new ConsumerReporter(new EventEmitter<ConsumerEvents>(), undefined)
    await reporter.onIdle()
    reporter.received(queueUrl, [message, message])
    let idle = false
    void reporter.onIdle().then(() => (idle = true))
    reporter.finished(1)
    await Promise.resolve()
    expect(idle).toBe(false)
    reporter.finished(1)
    await Promise.resolve()
    expect(idle).toBe(true)
    expect(reporter.counts).toMatchObject({ received: 2, inFlight: 0, maxInFlight: 2 })
  })
})

describe('ConsumerReporter: the measure channels', () => {
  it('message_processed carries SentTimestamp, handler_finished the duration, message_settled the count; never a body', () => {
    const seen: Array<[string, unknown]> = []
    const names = { ...CONSUMER_MEASURE_CHANNELS, message_processed: CONSUMER_CHANNELS.message_processed }
    expect(handlerObserved()).toBe(false)
    const listeners = Object.entries(names).map(([event, name]) => {
      const listener = (m: unknown) => seen.push([event, m])
      subscribe(name, listener)
      return () => unsubscribe(name, listener)
    })
    try {
      expect(handlerObserved()).toBe(true)
      const reporter = new ConsumerReporter(new EventEmitter<ConsumerEvents>(), undefined)
      const sent = { ...message, Attributes: { ...message.Attributes, SentTimestamp: '1767225600000' } }
      reporter.received(queueUrl, [sent, message])
      reporter.handlerFinished(queueUrl, 1, performance.now() - 5, 'ok')
      reporter.deleted(sent, queueUrl)
      reporter.processed(reporter.ref(message, queueUrl), message)
      reporter.finished(2, queueUrl)
    } finally {
      for (const off of listeners) off()
    }
    expect(seen).toEqual([
      ['handler_finished', { queueUrl, count: 1, durationMs: expect.any(Number), outcome: 'ok' }],
      ['message_processed', { queueUrl, count: 1, sentTimestamp: 1767225600000 }],
      ['message_processed', { queueUrl, count: 1 }],
      ['message_settled', { queueUrl, count: 2 }],
    ])
    expect((seen[0]?.[1] as { durationMs: number } | undefined)?.durationMs).toBeGreaterThanOrEqual(5)
    expect(JSON.stringify(seen)).not.toContain('secret')
  })
})
