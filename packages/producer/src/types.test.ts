import type { SQSClient } from '@aws-sdk/client-sqs'
import type { EnvelopeSealer, SqsEnvelopeErrorCode } from '@sqs-envelope/core'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type Job,
  Producer,
  type ProducerMetrics,
  type ProducerOptions,
  type SendFailure,
  type SendResult,
} from './index.ts'

const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders'

// Type-level only: these functions are never called, tsc checks them.
describe('public types', () => {
  it('the content type types the payloads send takes', () => {
    expectTypeOf(Producer.create({ queueUrl, kmsKeyId: 'alias/x' })).toEqualTypeOf<Producer<'text'>>()
    expectTypeOf(Producer.create({ queueUrl, kmsKeyId: 'alias/x', contentType: 'json' })).toEqualTypeOf<
      Producer<'json'>
    >()
    expectTypeOf(new Producer({ queueUrl, kmsKeyId: 'alias/x', contentType: 'bytes' })).toEqualTypeOf<
      Producer<'bytes'>
    >()

    const text = (p: Producer<'text'>) => {
      void p.send('job')
      void p.send(['a', { body: 'b', id: '1' }, { body: { any: 'value' }, contentType: 'json' }])
      void p.send({ body: new Uint8Array(1), contentType: 'bytes', groupId: 'g', deduplicationId: 'd' })
      // @ts-expect-error a text producer takes strings
      void p.send(42)
      // @ts-expect-error a bytes body must be bytes
      void p.send({ body: 'x', contentType: 'bytes' })
      // @ts-expect-error delaySeconds is a number
      void p.send({ body: 'x', delaySeconds: '5' })
    }
    const json = (p: Producer<'json'>) => {
      void p.send({ orderId: 42 })
      void p.send([
        { orderId: 1 },
        { body: { orderId: 2 }, messageAttributes: { t: { DataType: 'String', StringValue: 'v' } } },
      ])
    }
    expectTypeOf(text).toBeFunction()
    expectTypeOf(json).toBeFunction()
    expectTypeOf<string>().not.toExtend<Job<'bytes'>>()
    expectTypeOf<Uint8Array>().toExtend<Job<'bytes'>>()
  })

  it('send resolves with results narrowed by ok', () => {
    expectTypeOf<Producer['send']>().returns.toEqualTypeOf<Promise<SendResult[]>>()
    const read = (r: SendResult) => {
      if (r.ok) {
        expectTypeOf(r.messageId).toEqualTypeOf<string>()
        expectTypeOf(r.sequenceNumber).toEqualTypeOf<string | undefined>()
      } else {
        expectTypeOf(r.error).toEqualTypeOf<SendFailure>()
        expectTypeOf(r.error.code).toEqualTypeOf<SqsEnvelopeErrorCode>()
        expectTypeOf(r.error.retryable).toEqualTypeOf<boolean>()
        expectTypeOf(r.error.mayHaveBeenSent).toEqualTypeOf<boolean>()
        expectTypeOf(r.error.sqsCode).toEqualTypeOf<string | undefined>()
      }
      expectTypeOf(r.index).toEqualTypeOf<number>()
    }
    expectTypeOf(read).toBeFunction()
    expectTypeOf<Producer['queueSize']>().returns.toEqualTypeOf<Promise<number>>()
    expectTypeOf<Producer['metrics']>().returns.toEqualTypeOf<ProducerMetrics>()
    expectTypeOf<Producer['close']>().returns.toEqualTypeOf<Promise<void>>()
    expectTypeOf<Producer[typeof Symbol.asyncDispose]>().toBeFunction()
  })

  it('options: a kmsKeyId or a sealer, not both; injectable clients', () => {
    expectTypeOf<{ queueUrl: string; kmsKeyId: string; sqs: SQSClient }>().toExtend<ProducerOptions>()
    expectTypeOf<{ queueUrl: string; sealer: EnvelopeSealer }>().toExtend<ProducerOptions>()
    expectTypeOf<{ queueUrl: string; sealer: EnvelopeSealer; kmsKeyId: string }>().not.toExtend<ProducerOptions>()
    expectTypeOf<{ queueUrl: string }>().not.toExtend<ProducerOptions>()
    expectTypeOf<{ queueUrl: string; kmsKeyId: string; batchSize: number; concurrency: number }>().toExtend<
      ProducerOptions<'text'>
    >()
  })
})
