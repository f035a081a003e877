// The public EnvelopeConsumer over a fake SQS (test-support/fake-sqs.ts) and a stub opener, on fake
// timers: ordering, acknowledgement, quarantine and stop, as the LocalStack tests check them, in ms.
import { SQSClient } from '@aws-sdk/client-sqs'
import { EnvelopeOpener, isSqsEnvelopeError } from '@sqs-envelope/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EnvelopeConsumer } from './consumer.ts'
import type { ConsumerEvents } from './events.ts'
import type { ConsumerOptions } from './options.ts'
import { type FakeSqs, fakeSqs } from './test-support/fake-sqs.ts'
import { failingBody, HANGING_BODY, type StubOpener, sealedBody, stubOpener } from './test-support/stub-opener.ts'

const queueUrl = 'http://127.0.0.1:4566/000000000000/unit'
const fifoUrl = 'http://127.0.0.1:4566/000000000000/unit.fifo'
const quarantineUrl = 'http://127.0.0.1:4566/000000000000/quarantine'

type Events = { [K in keyof ConsumerEvents]?: ConsumerEvents[K][] }

function record(consumer: EnvelopeConsumer<unknown>): Events {
  const events: Events = {}
  const names: Array<keyof ConsumerEvents> = [
    'message_processed',
    'processing_error',
    'timeout_error',
    'error',
    'message_quarantined',
    'transient_error',
    'stopped',
  ]
  for (const name of names) {
    events[name] = []
    consumer.on(name, (...args: unknown[]) => (events[name] as unknown[][]).push(args))
  }
  return events
}

interface Built {
  readonly consumer: EnvelopeConsumer<unknown>
  readonly sqs: FakeSqs
  readonly opener: StubOpener
  readonly events: Events
}

function build(options: Partial<ConsumerOptions<unknown>>, sqs = fakeSqs()): Built {
  const opener = stubOpener()
  const consumer = new EnvelopeConsumer<unknown>({
    queueUrl,
    sqs: sqs.client,
    opener,
    pollers: 1,
    waitTimeSeconds: 1,
    handleMessage: () => {},
    ...options,
  })
  return { consumer, sqs, opener, events: record(consumer) }
}

/** Advances fake time in 10 ms steps until `condition` holds (fails after `ms`). */
async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited >= ms) throw new Error(`not reached within ${ms} ms of fake time`)
    await vi.advanceTimersByTimeAsync(10)
  }
}

/** Settles a promise while advancing fake time; resolves with the fake ms it took. */
async function timed(promise: Promise<unknown>, ms = 60_000): Promise<number> {
  const started = Date.now()
  let done = false
  void promise.then(
    () => (done = true),
    () => (done = true),
  )
  await until(() => done, ms)
  await promise
  return Date.now() - started
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
})

afterEach(() => {
  vi.useRealTimers()
})

describe('EnvelopeConsumer (fake SQS): ordering', () => {
  it('FIFO: a group runs in order, a failure holds the rest of its group; other groups go on; poison leaves with its group id', async () => {
    const sqs = fakeSqs()
    sqs.visibilitySeconds = 1
    const jobs = [
      ['g1', 'm1'],
      ['g2', 'n1'],
      ['g1', 'm2'],
      ['g2', 'poison'],
      ['g1', 'm3'],
      ['g2', 'n2'],
      ['g1', 'm4'],
    ] as const
    sqs.send(
      fifoUrl,
      jobs.map(([group, job]) => ({ group, body: job === 'poison' ? failingBody('BODY_NOT_JSON') : sealedBody(job) })),
    )
    const attempts: string[] = []
    const done: string[] = []
    const { consumer, events } = build(
      {
        queueUrl: fifoUrl,
        quarantineQueueUrl: `${quarantineUrl}.fifo`,
        handleMessage: async (job, { receiveCount }) => {
          attempts.push(job as string)
          await new Promise((resolve) => setTimeout(resolve, 20))
          if (job === 'm2' && receiveCount === 1) throw new Error('m2 fails once')
          done.push(job as string)
        },
      },
      sqs,
    )
    consumer.start()
    await until(() => done.length === 6)
    await timed(consumer.stop())
    expect(done.filter((j) => j.startsWith('m'))).toEqual(['m1', 'm2', 'm3', 'm4'])
    expect(done.filter((j) => j.startsWith('n'))).toEqual(['n1', 'n2'])
    expect(attempts.indexOf('m3')).toBeGreaterThan(attempts.lastIndexOf('m2'))
    expect(events.message_quarantined?.[0]?.[0]).toMatchObject({ code: 'BODY_NOT_JSON', moved: true })
    const copy = sqs.calls.find((c) => c.name === 'SendMessageCommand')
    expect(copy?.input).toMatchObject({ MessageGroupId: 'g2', MessageBody: failingBody('BODY_NOT_JSON') })
    // sqs-consumer deletes FIFO jobs itself (a group stays locked until then), in DeleteMessageBatch.
    expect(sqs.names()).not.toContain('DeleteMessageCommand')
    expect(sqs.remaining(fifoUrl)).toBe(0)
    expect(events.processing_error).toHaveLength(1)
  })

  it('FIFO: after a transient open failure, the later jobs of its group are held with the same visibility', async () => {
    const sqs = fakeSqs()
    sqs.send(fifoUrl, [
      { group: 'g', body: failingBody('KMS_UNAVAILABLE') },
      { group: 'g', body: sealedBody('after') },
      { group: 'h', body: sealedBody('other') },
    ])
    const handled: unknown[] = []
    const { consumer, events } = build({ queueUrl: fifoUrl, handleMessage: (job) => void handled.push(job) }, sqs)
    consumer.start()
    await until(() => (events.transient_error?.length ?? 0) === 1 && handled.length === 1)
    await timed(consumer.stop())
    expect(handled).toEqual(['other'])
    const change = sqs.calls.find((c) => c.name === 'ChangeMessageVisibilityBatchCommand')
    const seconds = change?.input.Entries.map((e: { VisibilityTimeout: number }) => e.VisibilityTimeout)
    expect(seconds).toHaveLength(2)
    expect(seconds?.[0]).toBe(seconds?.[1])
    expect(events.transient_error?.[0]?.[1]).toMatchObject({ code: 'KMS_UNAVAILABLE', retryInSeconds: seconds?.[0] })
  })
})

describe('EnvelopeConsumer (fake SQS): acknowledgement', () => {
  it('handled jobs are deleted in one DeleteMessageBatch after the batch, then reported processed', async () => {
    const { consumer, sqs, events } = build({})
    sqs.send(queueUrl, [sealedBody('a'), sealedBody('b'), sealedBody('c')])
    consumer.start()
    await until(() => events.message_processed?.length === 3)
    await timed(consumer.stop())
    const deletes = sqs.calls.filter((c) => c.name === 'DeleteMessageBatchCommand')
    expect(deletes).toHaveLength(1)
    expect(deletes[0]?.input.Entries).toHaveLength(3)
    expect(consumer.metrics()).toMatchObject({ received: 3, processed: 3, failed: 0, inFlight: 0 })
    expect(sqs.remaining(queueUrl)).toBe(0)
  })

  it('a handler failure leaves the job (no delete); with handlerErrorBackoff its visibility is set to the backoff', async () => {
    const { consumer, sqs, events } = build({
      handlerErrorBackoff: { baseDelaySeconds: 10, maxDelaySeconds: 10 },
      handleMessage: () => {
        throw new Error('boom')
      },
    })
    sqs.send(queueUrl, [sealedBody('a')])
    consumer.start()
    await until(() => events.processing_error?.length === 1)
    await timed(consumer.stop())
    expect(sqs.names()).not.toContain('DeleteMessageBatchCommand')
    const change = sqs.calls.find((c) => c.name === 'ChangeMessageVisibilityBatchCommand')
    const seconds = change?.input.Entries[0].VisibilityTimeout as number
    expect(seconds).toBeGreaterThanOrEqual(5)
    expect(seconds).toBeLessThanOrEqual(10)
    expect(events.processing_error?.[0]?.[1]).toMatchObject({ receiveCount: 1 })
    expect(consumer.metrics()).toMatchObject({ failed: 1, processed: 0, inFlight: 0 })
  })

  it('handlerTimeoutMs aborts the handler signal with HANDLER_TIMEOUT, reports timeout_error and leaves the job', async () => {
    let reason: unknown
    const { consumer, sqs, events } = build({
      handlerTimeoutMs: 100,
      handleMessage: (_job, { signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            reason = signal.reason
            reject(signal.reason)
          }),
        ),
    })
    sqs.send(queueUrl, [sealedBody('slow')])
    consumer.start()
    await until(() => events.timeout_error?.length === 1)
    await timed(consumer.stop())
    expect(isSqsEnvelopeError(reason) && reason.code).toBe('HANDLER_TIMEOUT')
    expect(events.processing_error).toHaveLength(0)
    expect(sqs.names()).not.toContain('DeleteMessageBatchCommand')
    expect(sqs.remaining(queueUrl)).toBe(1)
  })

  it('a transient open failure never reaches the handler: its visibility gets the transient backoff', async () => {
    const handled: unknown[] = []
    const { consumer, sqs, events } = build({
      transientBackoff: { baseDelaySeconds: 4, maxDelaySeconds: 4 },
      handleMessage: (job) => void handled.push(job),
    })
    sqs.send(queueUrl, [failingBody('KMS_THROTTLED'), sealedBody('ok')])
    consumer.start()
    await until(() => events.transient_error?.length === 1 && events.message_processed?.length === 1)
    await timed(consumer.stop())
    expect(handled).toEqual(['ok'])
    const change = sqs.calls.find((c) => c.name === 'ChangeMessageVisibilityBatchCommand')
    expect(change?.input.Entries[0].VisibilityTimeout).toBeGreaterThanOrEqual(2)
    expect(change?.input.Entries[0].VisibilityTimeout).toBeLessThanOrEqual(4)
    expect(consumer.metrics()).toMatchObject({ transientRetries: 1, processed: 1, quarantined: 0 })
  })

  it('a DeleteMessageBatch that fails is reported with the message ids, and the jobs are not counted processed', async () => {
    const { consumer, sqs, events } = build({})
    sqs.fail.set('DeleteMessageBatchCommand', Object.assign(new Error('down'), { name: 'InternalFailure' }))
    sqs.send(queueUrl, [sealedBody('a'), sealedBody('b')])
    consumer.start()
    await until(() => events.error?.length === 1)
    await timed(consumer.stop())
    expect(events.error?.[0]?.[1]).toMatchObject({ queueUrl, messageIds: ['m1', 'm2'] })
    expect(consumer.metrics()).toMatchObject({ processed: 0, inFlight: 0 })
  })
})

describe('EnvelopeConsumer (fake SQS): quarantine', () => {
  it('poison is copied intact to quarantine, then deleted from its queue; the handler never sees it', async () => {
    const handled: unknown[] = []
    const { consumer, sqs, events } = build({
      quarantineQueueUrl: quarantineUrl,
      handleMessage: (job) => void handled.push(job),
    })
    sqs.send(queueUrl, [sealedBody('good'), failingBody('TOKEN_MAC')])
    consumer.start()
    await until(() => events.message_quarantined?.length === 1 && events.message_processed?.length === 1)
    await timed(consumer.stop())
    expect(handled).toEqual(['good'])
    expect(sqs.sentTo(quarantineUrl)).toEqual([failingBody('TOKEN_MAC')])
    const send = sqs.names().indexOf('SendMessageCommand')
    const deleteOfPoison = sqs.calls.findIndex(
      (c) => c.name === 'DeleteMessageBatchCommand' && c.input.Entries.length === 1 && send >= 0,
    )
    expect(send).toBeGreaterThanOrEqual(0)
    expect(deleteOfPoison).toBeGreaterThan(send)
    expect(events.message_quarantined?.[0]?.[0]).toMatchObject({
      code: 'TOKEN_MAC',
      quarantineQueueUrl: quarantineUrl,
      moved: true,
    })
    expect(sqs.remaining(queueUrl)).toBe(0)
    expect(consumer.metrics().quarantined).toBe(1)
  })

  it('when the send to quarantine fails, the poison is not deleted: QUARANTINE_FAILED, it stays in its queue', async () => {
    const { consumer, sqs, events } = build({ quarantineQueueUrl: quarantineUrl })
    sqs.fail.set('SendMessageCommand', Object.assign(new Error('refused'), { name: 'AccessDenied' }))
    sqs.send(queueUrl, [failingBody('BODY_NOT_JSON')])
    consumer.start()
    await until(() => events.error?.length === 1)
    await timed(consumer.stop())
    const [error] = events.error?.[0] ?? []
    expect(isSqsEnvelopeError(error) && error.code).toBe('QUARANTINE_FAILED')
    expect(sqs.names()).not.toContain('DeleteMessageBatchCommand')
    expect(sqs.remaining(queueUrl)).toBe(1)
    expect(events.message_quarantined).toHaveLength(0)
  })

  it('with neither a quarantine queue nor a DLQ, poison stays in its queue, reported with moved: false', async () => {
    const { consumer, sqs, events } = build({})
    sqs.send(queueUrl, [failingBody('BODY_NOT_JSON')])
    consumer.start()
    await until(() => events.message_quarantined?.length === 1)
    await timed(consumer.stop())
    expect(events.message_quarantined?.[0]?.[0]).toMatchObject({ moved: false, quarantineQueueUrl: undefined })
    expect(sqs.names()).toContain('GetQueueAttributesCommand')
    expect(sqs.names()).not.toContain('DeleteMessageBatchCommand')
    expect(sqs.remaining(queueUrl)).toBe(1)
  })
})

describe('EnvelopeConsumer (fake SQS): stop', () => {
  it('stop() lets in-flight handlers finish within timeoutMs; their jobs are deleted; stop() is idempotent', async () => {
    let finished = 0
    const { consumer, sqs } = build({
      handleMessage: async () => {
        await new Promise((resolve) => setTimeout(resolve, 800))
        finished++
      },
    })
    sqs.send(queueUrl, [sealedBody('1'), sealedBody('2'), sealedBody('3')])
    consumer.start()
    await until(() => consumer.metrics().inFlight === 3)
    const stopping = consumer.stop({ timeoutMs: 10_000 })
    expect(consumer.stop()).toBe(stopping)
    expect(consumer.status).toMatchObject({ isRunning: false, state: 'stopping' })
    const ms = await timed(stopping)
    expect(ms).toBeLessThan(1000)
    expect(finished).toBe(3)
    expect(consumer.metrics()).toMatchObject({ processed: 3, inFlight: 0 })
    expect(consumer.status.state).toBe('stopped')
    expect(sqs.remaining(queueUrl)).toBe(0)
  })

  it('past timeoutMs, stop() aborts handler signals and releases their jobs (visibility 0, not deleted)', async () => {
    let aborted = false
    const { consumer, sqs, events } = build({
      handleMessage: (_job, { signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true
            reject(signal.reason)
          }),
        ),
    })
    sqs.send(queueUrl, [sealedBody('stuck')])
    consumer.start()
    await until(() => consumer.metrics().inFlight === 1)
    const ms = await timed(consumer.stop({ timeoutMs: 200 }))
    expect(ms).toBeGreaterThanOrEqual(200)
    expect(ms).toBeLessThan(300)
    expect(aborted).toBe(true)
    expect(consumer.metrics()).toMatchObject({ processed: 0, inFlight: 0 })
    expect(events.message_processed).toHaveLength(0)
    const release = sqs.calls.find((c) => c.name === 'ChangeMessageVisibilityBatchCommand')
    expect(release?.input.Entries[0].VisibilityTimeout).toBe(0)
    expect(sqs.remaining(queueUrl)).toBe(1)
  })

  it('stop({ timeoutMs }) is bounded when SQS never answers a DeleteMessageBatch: the request is aborted', async () => {
    const { consumer, sqs, events } = build({})
    sqs.hold.add('DeleteMessageBatchCommand')
    sqs.send(queueUrl, [sealedBody('a')])
    consumer.start()
    await until(() => sqs.names().includes('DeleteMessageBatchCommand'))
    const ms = await timed(consumer.stop({ timeoutMs: 2000 }))
    expect(ms).toBeGreaterThanOrEqual(2000)
    expect(ms).toBeLessThan(2100)
    expect(consumer.metrics()).toMatchObject({ processed: 0, inFlight: 0 })
    expect(events.error?.[0]?.[1]).toMatchObject({ messageIds: ['m1'] })
    expect(events.stopped).toHaveLength(1)
  })

  it('past timeoutMs, stop() aborts an open still waiting on KMS (the signal each open gets) and releases its message', async () => {
    const { consumer, sqs, opener, events } = build({})
    sqs.send(queueUrl, [HANGING_BODY])
    consumer.start()
    await until(() => opener.signals.length === 1)
    const ms = await timed(consumer.stop({ timeoutMs: 100 }))
    expect(ms).toBeLessThan(200)
    expect(opener.signals[0]?.aborted).toBe(true)
    expect(events.transient_error?.[0]?.[0]).toMatchObject({ code: 'ABORTED' })
    const release = sqs.calls.find((c) => c.name === 'ChangeMessageVisibilityBatchCommand')
    expect(release?.input.Entries[0].VisibilityTimeout).toBe(0)
    expect(consumer.metrics().inFlight).toBe(0)
  })

  it('a slow job runs on detached past stragglerAfterMs: the poller polls again, and stop() waits for it', async () => {
    let release: (() => void) | undefined
    const { consumer, sqs, events } = build({
      stragglerAfterMs: 50,
      handleMessage: (job) => (job === 'slow' ? new Promise<void>((resolve) => (release = resolve)) : undefined),
    })
    sqs.send(queueUrl, [sealedBody('slow'), sealedBody('fast')])
    consumer.start()
    await until(() => events.message_processed?.length === 1)
    const receives = () => sqs.names().filter((n) => n === 'ReceiveMessageCommand').length
    const before = receives()
    await until(() => receives() > before)
    const stopping = consumer.stop({ timeoutMs: 5000 })
    await vi.advanceTimersByTimeAsync(100)
    expect(consumer.status.state).toBe('stopping')
    release?.()
    await timed(stopping)
    expect(sqs.names()).toContain('DeleteMessageCommand')
    expect(consumer.metrics()).toMatchObject({ processed: 2, inFlight: 0 })
  })
})

describe('EnvelopeConsumer (fake SQS): heartbeats of detached jobs', () => {
  it('a detached job is renewed every heartbeatInterval from its receipt, not from when it was detached', async () => {
    const { consumer, sqs, events } = build({
      visibilityTimeout: 4,
      heartbeatInterval: 3,
      stragglerAfterMs: 900,
      handleMessage: () => new Promise((resolve) => setTimeout(resolve, 7000)),
    })
    sqs.send(queueUrl, [sealedBody('slow')])
    consumer.start()
    await until(() => consumer.metrics().inFlight === 1)
    const receivedAt = Date.now()
    await until(() => events.message_processed?.length === 1, 10_000)
    const renewals = sqs.calls
      .filter((c) => c.name === 'ChangeMessageVisibilityBatchCommand')
      .map((c) => ({ at: c.at - receivedAt, seconds: c.input.Entries[0].VisibilityTimeout }))
    expect(renewals.map((r) => r.seconds)).toEqual([4, 4])
    expect(renewals[0]?.at).toBeGreaterThanOrEqual(2990)
    expect(renewals[0]?.at).toBeLessThanOrEqual(3020)
    expect(renewals[1]?.at).toBeGreaterThanOrEqual(5990)
    expect(renewals[1]?.at).toBeLessThanOrEqual(6020)
    await timed(consumer.stop())
  })

  it('the constructor refuses stragglerAfterMs + heartbeatInterval·1000 ≥ visibilityTimeout·1000, naming the values', () => {
    expect(() => build({ visibilityTimeout: 4, heartbeatInterval: 3, stragglerAfterMs: 2500 })).toThrow(
      /^stragglerAfterMs must be such that stragglerAfterMs \+ heartbeatInterval·1000 < visibilityTimeout·1000 \(heartbeatInterval 3, visibilityTimeout 4: less than 1000\); received 2500$/,
    )
  })
})

describe('EnvelopeConsumer (fake SQS): lifecycle and vocabulary', () => {
  it('close() stops and releases what it built, never an injected opener or client; twice is fine; start() then throws CLOSED', async () => {
    const { consumer, opener } = build({})
    consumer.start()
    await vi.advanceTimersByTimeAsync(10)
    await timed(consumer.close())
    await consumer[Symbol.asyncDispose]()
    expect(opener.closed).toBe(0)
    expect(() => consumer.start()).toThrow(expect.objectContaining({ code: 'CLOSED' }))
  })

  it('close() destroys the SQS client and closes the opener it built itself', async () => {
    const destroy = vi.spyOn(SQSClient.prototype, 'destroy')
    const close = vi.spyOn(EnvelopeOpener.prototype, 'close')
    try {
      const consumer = new EnvelopeConsumer({ queueUrl, handleMessage: () => {}, region: 'us-east-1' })
      await consumer.close()
      await consumer.close()
      expect(destroy).toHaveBeenCalledTimes(1)
      expect(close).toHaveBeenCalledTimes(1)
    } finally {
      destroy.mockRestore()
      close.mockRestore()
    }
  })

  it('sqsEndpoint still works, with one DeprecationWarning per process; endpoint and requestTimeoutMs are checked', () => {
    const warnings: Array<{ name: string; code?: string }> = []
    const onWarning = (warning: Error & { code?: string }) => warnings.push({ name: warning.name, code: warning.code })
    process.on('warning', onWarning)
    const emit = vi.spyOn(process, 'emitWarning')
    try {
      const options = { queueUrl, handleMessage: () => {}, region: 'us-east-1', sqsEndpoint: 'http://127.0.0.1:1' }
      new EnvelopeConsumer(options)
      new EnvelopeConsumer(options)
      expect(emit).toHaveBeenCalledTimes(1)
      expect(emit.mock.calls[0]?.[1]).toMatchObject({
        type: 'DeprecationWarning',
        code: 'SQS_ENVELOPE_DEP_SQS_ENDPOINT',
      })
    } finally {
      emit.mockRestore()
      process.off('warning', onWarning)
    }
    expect(() => build({ endpoint: 'nowhere' })).toThrow('endpoint must be an http(s) URL; received "nowhere"')
    expect(() => build({ requestTimeoutMs: 0 })).toThrow(/^requestTimeoutMs must be an integer from 1 to 2147483647/)
  })

  it('a pollerFactory replaces the receive loop: it gets the options and hooks, and the consumer drives it', async () => {
    const started: string[] = []
    const { consumer, sqs } = build({
      pollers: 2,
      pollerFactory: (options, hooks) => ({
        isPolling: false,
        start: () => {
          started.push(options.queueUrl)
          void hooks.processBatch([{ MessageId: 'x', ReceiptHandle: 'r', Body: sealedBody('job') }])
        },
        stop: () => {},
      }),
    })
    consumer.start()
    const deletes = () => sqs.calls.filter((c) => c.name === 'DeleteMessageBatchCommand')
    await until(() => deletes().length === 2)
    expect(started).toEqual([queueUrl, queueUrl])
    // The consumer opened, handled and acknowledged what the custom loop handed it.
    expect(deletes().map((c) => c.input.Entries[0].ReceiptHandle)).toEqual(['r', 'r'])
    await timed(consumer.stop())
  })
})
