import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { BatchHandler, MessageContext, ReceivedJob } from '@sqs-envelope/consumer'
import { isSqsEnvelopeError, type SqsEnvelopeError } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import { createSqsHandler, type SqsHandler } from './handler.ts'
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from './lambda-types.ts'
import type { LambdaHandlerOptions } from './options.ts'
import { LAMBDA_CHANNELS, LAMBDA_MEASURE_CHANNELS, type LambdaEvents } from './reporting.ts'
import {
  DLQ_URL,
  type FakeSqs,
  fakeSqs,
  lambdaContext,
  QUEUE_ARN,
  QUEUE_URL,
  record,
  stubOpener,
  withDataKey,
} from './test-support/fakes.ts'

const FIFO_ARN = `${QUEUE_ARN}.fifo`

function setup(options: Partial<LambdaHandlerOptions<string>> = {}) {
  const sqs = fakeSqs()
  const opener = stubOpener()
  const handled: string[] = []
  const handler = createSqsHandler<string>({
    sqs: sqs.client,
    opener,
    handleMessage: async (job) => {
      if (job.startsWith('throw')) throw new Error('handler failed')
      handled.push(job)
    },
    ...options,
  })
  return { sqs, opener, handled, handler }
}

const event = (...records: SQSRecord[]): SQSEvent => ({ Records: records })
const failed = (response: SQSBatchResponse) => response.batchItemFailures.map((f) => f.itemIdentifier)

function collect(handler: SqsHandler, name: keyof LambdaEvents) {
  const seen: unknown[][] = []
  handler.events.on(name as never, ((...args: unknown[]) => seen.push(args)) as never)
  return seen
}

describe('createSqsHandler: the outcome of each record', () => {
  it('handled → not reported; handler threw → reported; transient open failure → reported, never quarantined', async () => {
    const { handler, sqs, handled } = setup()
    const transient = collect(handler, 'transient_error')
    const errors = collect(handler, 'processing_error')
    const response = await handler(
      event(record('a', 'ok:a'), record('b', 'ok:throw'), record('c', 'code:KMS_THROTTLED'), record('d', 'ok:d')),
      lambdaContext(),
    )
    expect(failed(response).sort()).toEqual(['b', 'c'])
    expect(handled.sort()).toEqual(['a', 'd'])
    expect(sqs.sent).toEqual([])
    expect(
      transient.map(([e, ref]) => [(e as SqsEnvelopeError).code, (ref as { messageId: string }).messageId]),
    ).toEqual([['KMS_THROTTLED', 'c']])
    expect(errors.map(([, ref]) => (ref as MessageContext).messageId)).toEqual(['b'])
    expect(handler.metrics()).toMatchObject({
      invocations: 1,
      received: 4,
      processed: 2,
      failed: 1,
      transientRetries: 1,
    })
  })

  it('poison → sent intact to the DLQ from the RedrivePolicy, then left out; the DLQ is looked up once per queue', async () => {
    const { handler, sqs } = setup()
    const quarantined = collect(handler, 'message_quarantined')
    const poison = record('p', 'code:TOKEN_MAC', {
      messageAttributes: {
        tenant: { dataType: 'String', stringValue: 't-1' },
        raw: { dataType: 'Binary', binaryValue: 'AAH+/w==' },
      },
    })
    expect(failed(await handler(event(poison, record('a', 'ok:a')), lambdaContext()))).toEqual([])
    expect(sqs.sent).toHaveLength(1)
    const copy = sqs.sent[0]
    expect([copy?.QueueUrl, copy?.MessageBody]).toEqual([DLQ_URL, 'code:TOKEN_MAC'])
    expect(copy?.MessageAttributes?.tenant).toEqual({ DataType: 'String', StringValue: 't-1' })
    expect(copy?.MessageAttributes?.raw).toEqual({ DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 254, 255]) })
    expect(copy?.MessageAttributes?.['SqsEnvelope.QuarantineCode']?.StringValue).toBe('TOKEN_MAC')
    expect(copy?.MessageAttributes?.['SqsEnvelope.QuarantineSource']?.StringValue).toBe(QUEUE_URL)
    expect(quarantined[0]?.[0]).toMatchObject({
      messageId: 'p',
      code: 'TOKEN_MAC',
      moved: true,
      quarantineQueueUrl: DLQ_URL,
    })

    await handler(event(record('q', 'code:BODY_NOT_JSON')), lambdaContext())
    // GetQueueUrl twice: the source queue's, and the DLQ's (its RedrivePolicy names it by ARN).
    expect([sqs.calls.GetQueueUrl, sqs.calls.GetQueueAttributes, sqs.sent.length]).toEqual([2, 1, 2])
    expect(handler.metrics().quarantined).toBe(2)
  })

  it('poison whose copy fails, or that has nowhere to go, is reported as a failure (it stays, nothing lost)', async () => {
    const { handler, sqs } = setup()
    const errors = collect(handler, 'error')
    sqs.failures.SendMessage = [Object.assign(new Error('boom'), { name: 'InternalError' })]
    expect(failed(await handler(event(record('p', 'code:TOKEN_MAC')), lambdaContext()))).toEqual(['p'])
    expect(errors[0]?.[0]).toMatchObject({ code: 'QUARANTINE_FAILED' })

    const none = setup()
    none.sqs.redrivePolicy = undefined
    const quarantined = collect(none.handler, 'message_quarantined')
    expect(failed(await none.handler(event(record('p', 'code:TOKEN_MAC')), lambdaContext()))).toEqual(['p'])
    expect(quarantined[0]?.[0]).toMatchObject({ moved: false, quarantineQueueUrl: undefined })
  })

  it('quarantineQueueUrl takes the place of the DLQ (no RedrivePolicy look-up)', async () => {
    const target = 'http://127.0.0.1:4566/000000000000/poison'
    const { handler, sqs } = setup({ quarantineQueueUrl: target })
    expect(failed(await handler(event(record('p', 'code:BODY_SHAPE')), lambdaContext()))).toEqual([])
    expect([sqs.sent[0]?.QueueUrl, sqs.calls.GetQueueAttributes]).toEqual([target, undefined])
  })

  it('the queue URL comes from GetQueueUrl, once per ARN; a failed look-up reports every record and is asked again next time', async () => {
    const { handler, sqs, handled } = setup()
    const seen: string[] = []
    handler.events.on('message_processed', (ref) => seen.push(ref.queueUrl))
    const errors = collect(handler, 'error')
    sqs.failures.GetQueueUrl = [Object.assign(new Error('down'), { name: 'ServiceUnavailable' })]
    expect(failed(await handler(event(record('a', 'ok:a'), record('b', 'ok:b')), lambdaContext()))).toEqual(['a', 'b'])
    expect(handled).toEqual([])
    expect(errors[0]?.[0]).toMatchObject({ code: 'SQS_UNAVAILABLE' })
    await handler(event(record('a', 'ok:a')), lambdaContext())
    await handler(event(record('b', 'ok:b')), lambdaContext())
    expect([sqs.calls.GetQueueUrl, seen]).toEqual([2, [QUEUE_URL, QUEUE_URL]])
  })

  it('a record without an eventSourceARN is reported, not lost; a non-SQS event is refused', async () => {
    const { handler } = setup()
    const errors = collect(handler, 'error')
    const lost = { ...record('x', 'ok:x'), eventSourceARN: undefined } as unknown as SQSRecord
    expect(failed(await handler(event(lost, record('a', 'ok:a')), lambdaContext()))).toEqual(['x'])
    expect(errors[0]?.[0]).toMatchObject({
      code: 'MESSAGE_INVALID',
      message: expect.stringContaining('eventSourceARN must be an SQS queue ARN'),
    })
    expect(errors[0]?.[1]).toEqual({ queueUrl: undefined, messageIds: ['x'] })
    await expect(handler({} as SQSEvent, lambdaContext())).rejects.toMatchObject({ code: 'MESSAGE_INVALID' })
  })

  it("ctx is the consumer's MessageContext: ids, receive count, the SDK's attribute shape, content type, signal", async () => {
    const contexts: MessageContext[] = []
    const { handler } = setup({
      handleMessage: (_job, ctx) => {
        contexts.push(ctx)
      },
    })
    const r = record('a', 'ok:a', {
      receiveCount: 2,
      messageAttributes: { tenant: { dataType: 'String', stringValue: 't' } },
    })
    await handler(event(r), lambdaContext())
    const ctx = contexts[0] as MessageContext
    expect({ ...JSON.parse(JSON.stringify(ctx)) }).toEqual({
      messageId: 'a',
      queueUrl: QUEUE_URL,
      receiveCount: 2,
      messageAttributes: { tenant: { DataType: 'String', StringValue: 't' } },
      attributes: r.attributes,
      contentType: 'text',
      kmsKeyArn: expect.any(String),
    })
    expect(ctx.signal).toBeInstanceOf(AbortSignal)
  })
})

describe('createSqsHandler: diagnostics channels', () => {
  it('sqs-envelope:lambda:<event> carries { queueUrl, count, code? } when subscribed, never a payload', async () => {
    const { handler } = setup()
    const seen: unknown[] = []
    const names = [
      'sqs-envelope:lambda:batch_received',
      'sqs-envelope:lambda:message_processed',
      'sqs-envelope:lambda:message_quarantined',
      'sqs-envelope:lambda:transient_error',
    ]
    const listeners = names.map((name) => {
      const listener = (message: unknown) => seen.push([name.split(':')[2], message])
      subscribe(name, listener)
      return () => unsubscribe(name, listener)
    })
    try {
      await handler(
        event(record('a', 'ok:secret-a'), record('p', 'code:TOKEN_MAC'), record('t', 'code:KMS_THROTTLED')),
        lambdaContext(),
      )
    } finally {
      for (const off of listeners) off()
    }
    expect(seen).toEqual(
      expect.arrayContaining([
        ['batch_received', { queueUrl: QUEUE_URL, count: 3 }],
        // The record's SentTimestamp, for end-to-end latency.
        ['message_processed', { queueUrl: QUEUE_URL, count: 1, sentTimestamp: 1767225600000 }],
        ['message_quarantined', { queueUrl: QUEUE_URL, count: 1, code: 'TOKEN_MAC' }],
        ['transient_error', { queueUrl: QUEUE_URL, count: 1, code: 'KMS_THROTTLED' }],
      ]),
    )
    expect(seen).toHaveLength(4)
    expect(JSON.stringify(seen)).not.toContain('secret')
    expect(Object.values(LAMBDA_CHANNELS)).toContain('sqs-envelope:lambda:message_received')
  })
})

describe('createSqsHandler: sqs-envelope:lambda:handler_finished', () => {
  it('one event per handler call with its duration and outcome, the clock read only when subscribed', async () => {
    const { handler } = setup()
    const seen: unknown[] = []
    const listener = (message: unknown) => seen.push(message)
    subscribe(LAMBDA_MEASURE_CHANNELS.handler_finished, listener)
    try {
      await handler(event(record('a', 'ok:secret-a'), record('b', 'ok:secret-b')), lambdaContext())
    } finally {
      unsubscribe(LAMBDA_MEASURE_CHANNELS.handler_finished, listener)
    }
    expect(seen).toEqual([
      { queueUrl: QUEUE_URL, count: 1, durationMs: expect.any(Number), outcome: 'ok' },
      { queueUrl: QUEUE_URL, count: 1, durationMs: expect.any(Number), outcome: 'ok' },
    ])
    expect(JSON.stringify(seen)).not.toContain('secret')
  })
})

describe('createSqsHandler: the KMS breaker across invocations', () => {
  const denied = (id: string, dataKey: string) => record(id, withDataKey('code:KMS_ACCESS_DENIED', dataKey))
  const good = (id: string) => record(id, withDataKey(`ok:${id}`, 'good-key'))

  it('a data key that fails while others open is quarantined from its next delivery on; before that it is reported', async () => {
    const { handler, sqs } = setup({ concurrency: 1 })
    expect(failed(await handler(event(good('a'), denied('x', 'bad-key')), lambdaContext()))).toEqual(['x'])
    expect(sqs.sent).toEqual([])
    // Delivered again: an open happened since bad-key first failed, so this key is the odd one.
    expect(failed(await handler(event(good('b'), denied('x', 'bad-key')), lambdaContext()))).toEqual([])
    expect(sqs.sent.map((s) => s.MessageAttributes?.['SqsEnvelope.QuarantineCode']?.StringValue)).toEqual([
      'KMS_ACCESS_DENIED',
    ])
  })

  it('a function that opens nothing quarantines nothing: past breakerThreshold the breaker opens; an invocation that opens a job closes it', async () => {
    const { handler, sqs } = setup({ breakerThreshold: 2, concurrency: 1, breakerProbeBaseDelayMs: 1 })
    const opened = collect(handler, 'breaker_opened')
    const closed = collect(handler, 'breaker_closed')
    const suspects = ['s1', 's2', 's3', 's4'].map((id) => denied(id, `key-${id}`))
    expect(failed(await handler(event(...suspects), lambdaContext()))).toEqual(['s1', 's2', 's3', 's4'])
    expect(sqs.sent).toEqual([])
    expect([opened, handler.metrics().breaker]).toEqual([[[{ streak: 3 }]], 'open'])
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(failed(await handler(event(good('a'), denied('s5', 'key-s5')), lambdaContext()))).toEqual(['s5'])
    expect([closed.length, handler.metrics().breaker, sqs.sent.length]).toEqual([1, 'closed', 0])
  })
})

describe('createSqsHandler: FIFO queues', () => {
  const fifo = (id: string, body: string, group: string) => record(id, body, { arn: FIFO_ARN, group })

  it('after the first record not done, every later record is reported and none of them is handled', async () => {
    const { handler, handled } = setup()
    const records = [fifo('1', 'ok:1', 'g'), fifo('2', 'ok:throw', 'g'), fifo('3', 'ok:3', 'h'), fifo('4', 'ok:4', 'g')]
    expect(failed(await handler(event(...records), lambdaContext()))).toEqual(['2', '3', '4'])
    expect(handled).toEqual(['1'])
  })

  it('a transient open failure cuts too; poison before it is quarantined and counts as done', async () => {
    const { handler, sqs, opener } = setup()
    sqs.redrivePolicy = JSON.stringify({ deadLetterTargetArn: `${QUEUE_ARN}-dlq.fifo`, maxReceiveCount: 3 })
    const records = [fifo('1', 'code:TOKEN_MAC', 'g'), fifo('2', 'code:KMS_UNAVAILABLE', 'g'), fifo('3', 'ok:3', 'g')]
    expect(failed(await handler(event(...records), lambdaContext()))).toEqual(['2', '3'])
    expect([sqs.sent.length, opener.opened]).toEqual([1, []])
    expect(sqs.sent[0]).toMatchObject({ QueueUrl: `${DLQ_URL}.fifo`, MessageGroupId: 'g', MessageDeduplicationId: '1' })
  })

  it('skipGroupOnError: only the later records of the failed group; other groups go on, each in order', async () => {
    const { handler, handled } = setup({ skipGroupOnError: true })
    const records = [
      fifo('1', 'ok:g1', 'g'),
      fifo('2', 'ok:throw', 'g'),
      fifo('3', 'ok:h1', 'h'),
      fifo('4', 'ok:g3', 'g'),
      fifo('5', 'ok:h2', 'h'),
    ]
    expect(failed(await handler(event(...records), lambdaContext()))).toEqual(['2', '4'])
    expect(handled.filter((j) => j.startsWith('h'))).toEqual(['h1', 'h2'])
    expect(handled).not.toContain('g3')
  })

  it('a batch handler: the records after the first it reports failed are reported too, even those it reports done', async () => {
    const { handler } = setup({
      handleMessageBatch: () => ({ batchItemFailures: [{ itemIdentifier: '2' }] }),
    })
    const records = [fifo('1', 'ok:1', 'g'), fifo('2', 'ok:2', 'g'), fifo('3', 'ok:3', 'h')]
    expect(failed(await handler(event(...records), lambdaContext()))).toEqual(['2', '3'])
  })
})

describe('createSqsHandler: batch handlers', () => {
  it('gets the opened jobs (ReceivedJob) once; its batchItemFailures are reported with the records that did not open', async () => {
    const batches: ReadonlyArray<ReceivedJob<string>>[] = []
    const { handler } = setup({
      handleMessageBatch: (jobs) => {
        batches.push(jobs)
        return { batchItemFailures: [{ itemIdentifier: 'b' }, { itemIdentifier: 'not-in-batch' }] }
      },
    })
    const response = await handler(
      event(record('a', 'ok:A'), record('b', 'ok:B'), record('t', 'code:KMS_THROTTLED'), record('c', 'ok:C')),
      lambdaContext(),
    )
    expect(failed(response).sort()).toEqual(['b', 't'])
    expect(batches.map((b) => b.map((j) => [j.messageId, j.job]))).toEqual([
      [
        ['a', 'A'],
        ['b', 'B'],
        ['c', 'C'],
      ],
    ])
    expect(JSON.stringify(batches[0]?.[0])).not.toContain('"job"')
  })

  it('throws, or answers in the wrong shape → every opened job is reported', async () => {
    for (const behaviour of [
      () => {
        throw new Error('x')
      },
      () => ({ batchItemFailures: 'b' }),
      () => ({ batchItemFailures: [{ id: 'b' }] }),
    ]) {
      const { handler } = setup({ handleMessageBatch: behaviour as unknown as BatchHandler<string> })
      expect(failed(await handler(event(record('a', 'ok:A'), record('b', 'ok:B')), lambdaContext())).sort()).toEqual([
        'a',
        'b',
      ])
    }
  })
})

describe('createSqsHandler: time and concurrency', () => {
  it('the signal aborts timeoutMarginMs before the time runs out: the response comes in time, unfinished records reported', async () => {
    const aborted: string[] = []
    const { handler, handled } = setup({
      concurrency: 1,
      timeoutMarginMs: 100,
      handleMessage: async (job, { signal }) => {
        if (job === 'slow') {
          signal.addEventListener('abort', () => aborted.push((signal.reason as SqsEnvelopeError).code))
          await new Promise(() => {}) // ignores its signal: the handler must not wait for it
        }
        handled.push(job)
      },
    })
    const timeouts = collect(handler, 'timeout_error')
    const started = performance.now()
    const response = await handler(
      event(record('a', 'ok:fast'), record('b', 'ok:slow'), record('c', 'ok:never')),
      lambdaContext(250),
    )
    const elapsed = performance.now() - started
    expect(failed(response)).toEqual(['b', 'c'])
    expect(handled).toEqual(['fast'])
    expect(aborted).toEqual(['HANDLER_TIMEOUT'])
    expect(timeouts.map(([e, ref]) => [isSqsEnvelopeError(e) && e.code, (ref as MessageContext).messageId])).toEqual([
      ['HANDLER_TIMEOUT', 'b'],
    ])
    expect(elapsed).toBeGreaterThanOrEqual(140)
    expect(elapsed).toBeLessThan(240)
  })

  it('an open waiting for KMS at the deadline is aborted and reported (transient), not quarantined', async () => {
    const { handler, sqs } = setup({ timeoutMarginMs: 50 })
    const response = await handler(event(record('a', 'wait:5000:a'), record('b', 'ok:b')), lambdaContext(100))
    expect(failed(response)).toEqual(['a'])
    expect(sqs.sent).toEqual([])
  })

  it('less time left than the margin: nothing starts, every record is reported', async () => {
    const { handler, handled } = setup({ timeoutMarginMs: 1000 })
    expect(failed(await handler(event(record('a', 'ok:a')), lambdaContext(500)))).toEqual(['a'])
    expect(handled).toEqual([])
  })

  it('a context without a usable time left (none, NaN): no deadline, nothing aborted', async () => {
    const { handler, handled } = setup({ timeoutMarginMs: 0 })
    const contexts = [{}, { getRemainingTimeInMillis: () => Number.NaN }] as unknown as Context[]
    for (const context of contexts) {
      expect(failed(await handler(event(record('a', 'wait:20:a')), context))).toEqual([])
    }
    expect(handled).toEqual(['a', 'a'])
  })

  it('handlerTimeoutMs aborts one handler and reports its record; the others go on', async () => {
    const { handler, handled } = setup({
      handlerTimeoutMs: 30,
      handleMessage: async (job, { signal }) => {
        if (job === 'slow')
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
        handled.push(job)
      },
    })
    expect(failed(await handler(event(record('a', 'ok:slow'), record('b', 'ok:b')), lambdaContext()))).toEqual(['a'])
    expect(handled).toEqual(['b'])
  })

  it('at most `concurrency` records in flight (opening and handling) within one invocation', async () => {
    let inFlight = 0
    let most = 0
    const { handler, handled } = setup({
      concurrency: 4,
      handleMessage: async (job) => {
        most = Math.max(most, ++inFlight)
        await new Promise((resolve) => setTimeout(resolve, 2))
        inFlight--
        handled.push(job)
      },
    })
    const records = Array.from({ length: 25 }, (_, i) => record(`m${i}`, `ok:${i}`))
    expect(failed(await handler(event(...records), lambdaContext()))).toEqual([])
    expect([handled.length, most]).toEqual([25, 4])
  })
})

describe('createSqsHandler: options and lifecycle', () => {
  it.each([
    [{ concurrency: 0 }, /concurrency must be an integer from 1 to 10000; received 0/],
    [{ timeoutMarginMs: -1 }, /timeoutMarginMs must be an integer from 0 to 2147483647/],
    [{ handlerTimeoutMs: 0 }, /handlerTimeoutMs must be/],
    [{ skipGroupOnError: 'yes' }, /skipGroupOnError must be a boolean/],
    [{ quarantineQueueUrl: 'queue' }, /quarantineQueueUrl must be an http\(s\) SQS queue URL/],
    [{ breakerThreshold: -1 }, /breakerThreshold must be an integer ≥ 0/],
    [{ logger: {} }, /logger must be an object with warn\(\) and error\(\)/],
    [{ handleMessage: undefined }, /handleMessage must be a function/],
  ])('%o → OPTION_INVALID naming the option', (bad, message) => {
    const options = { sqs: fakeSqs().client, opener: stubOpener(), handleMessage: () => {}, ...bad }
    expect(() => createSqsHandler(options as LambdaHandlerOptions)).toThrow(message)
    try {
      createSqsHandler(options as LambdaHandlerOptions)
    } catch (error) {
      expect(isSqsEnvelopeError(error) && error.code).toBe('OPTION_INVALID')
    }
  })

  it('close() is idempotent, leaves injected clients alone, and later invocations fail with CLOSED', async () => {
    const sqs: FakeSqs = fakeSqs()
    let destroyed = 0
    ;(sqs.client as unknown as { destroy(): void }).destroy = () => destroyed++
    const { handler } = setup({ sqs: sqs.client })
    await handler.close()
    await handler[Symbol.asyncDispose]()
    expect(destroyed).toBe(0)
    await expect(handler(event(record('a', 'ok:a')), lambdaContext())).rejects.toMatchObject({ code: 'CLOSED' })
  })

  it('breaker defaults are the consumer’s', async () => {
    const { CONSUMER_DEFAULTS } = await import('@sqs-envelope/consumer')
    const { LAMBDA_DEFAULTS } = await import('./options.ts')
    expect([
      LAMBDA_DEFAULTS.breakerThreshold,
      LAMBDA_DEFAULTS.breakerProbeBaseDelayMs,
      LAMBDA_DEFAULTS.breakerProbeMaxDelayMs,
    ]).toEqual([
      CONSUMER_DEFAULTS.breakerThreshold,
      CONSUMER_DEFAULTS.breakerProbeBaseDelayMs,
      CONSUMER_DEFAULTS.breakerProbeMaxDelayMs,
    ])
  })
})

describe('createSqsHandler: a batching window’s event', () => {
  it('10,000 records (the most an event source mapping sends): each handled once, within 5 s', async () => {
    const { handler, handled } = setup()
    const received = collect(handler, 'message_received')
    const records = Array.from({ length: 10_000 }, (_, i) => record(`m${i}`, `ok:${i}`))
    const started = performance.now()
    expect(failed(await handler(event(...records), lambdaContext()))).toEqual([])
    expect(performance.now() - started).toBeLessThan(5000)
    expect(new Set(handled).size).toBe(10_000)
    expect([handled.length, received.length, handler.metrics().processed]).toEqual([10_000, 10_000, 10_000])
  })
})
