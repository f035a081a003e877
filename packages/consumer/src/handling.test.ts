import { EventEmitter } from 'node:events'
import type { Message } from '@aws-sdk/client-sqs'
import { isSqsEnvelopeError, type OpenedMessage, SqsEnvelopeError } from '@sqs-envelope/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Acknowledger } from './acknowledging.ts'
import type { ConsumerEvents } from './events.ts'
import { HandlerRunner, type HandlingOptions } from './handling.ts'
import type { OpenedJob } from './opening.ts'
import { ConsumerReporter } from './reporting.ts'
import { RunSignals } from './signals.ts'
import { fakeSqs } from './test-support/fake-sqs.ts'

const queueUrl = 'http://127.0.0.1:4566/000000000000/handling'
const fifoUrl = `${queueUrl}.fifo`

function job(id: string, value: unknown, group?: string): OpenedJob {
  const message: Message = {
    MessageId: id,
    ReceiptHandle: `r-${id}`,
    Attributes: { ApproximateReceiveCount: '1', ...(group ? { MessageGroupId: group } : {}) },
  }
  const opened: OpenedMessage = {
    plaintext: Buffer.alloc(0),
    value,
    contentType: 'json',
    kmsKeyArn: 'arn:aws:kms:us-east-1:000000000000:key/k',
    encryptionContext: undefined,
  }
  return { kind: 'opened', message, opened }
}

function runner(options: Partial<HandlingOptions<unknown>>) {
  const sqs = fakeSqs()
  const emitter = new EventEmitter<ConsumerEvents>()
  const events: Record<string, unknown[]> = { processing_error: [], timeout_error: [] }
  emitter.on('processing_error', (e) => events.processing_error?.push(e))
  emitter.on('timeout_error', (e) => events.timeout_error?.push(e))
  const reporter = new ConsumerReporter(emitter, undefined)
  const signals = new RunSignals(10_000, 1)
  const acknowledger = new Acknowledger(sqs.client, signals, reporter, () => {})
  const all: HandlingOptions<unknown> = {
    handleMessage: () => {},
    handleMessageBatch: undefined,
    handlerTimeoutMs: undefined,
    handlerErrorBackoff: false,
    stragglerAfterMs: 1000,
    pollers: 1,
    batchSize: 10,
    heartbeatInterval: undefined,
    visibilityTimeout: undefined,
    ...options,
  }
  return { sqs, events, reporter, signals, runner: new HandlerRunner(all, signals, reporter, acknowledger) }
}

const keep = () => {}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('HandlerRunner', () => {
  it('a handler past handlerTimeoutMs: its signal aborts with HANDLER_TIMEOUT, it fails with the error backoff', async () => {
    let reason: unknown
    const { runner: r, events } = runner({
      handlerTimeoutMs: 50,
      handlerErrorBackoff: { baseDelaySeconds: 8, maxDelaySeconds: 8 },
      handleMessage: (_job, { signal }) =>
        new Promise(() => signal.addEventListener('abort', () => (reason = signal.reason))),
    })
    const handled = r.handle(queueUrl, [job('a', 'a')], Date.now(), keep)
    await vi.advanceTimersByTimeAsync(60)
    const [result] = await handled
    expect(isSqsEnvelopeError(reason) && reason.code).toBe('HANDLER_TIMEOUT')
    expect(result?.result).toBe('failed')
    expect(result?.seconds).toBeGreaterThanOrEqual(4)
    expect(events.timeout_error).toHaveLength(1)
    expect(events.processing_error).toHaveLength(0)
  })

  it('stop() giving up aborts the run signal: the job is aborted (released with visibility 0), no error event', async () => {
    const {
      runner: r,
      signals,
      events,
      reporter,
    } = runner({
      handleMessage: (_job, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', reject)),
    })
    const handled = r.handle(queueUrl, [job('a', 'a')], Date.now(), keep)
    signals.abortWork(new SqsEnvelopeError('ABORTED', 'stop'))
    expect(await handled).toEqual([expect.objectContaining({ result: 'aborted', seconds: 0 })])
    expect(events.processing_error).toHaveLength(0)
    expect(reporter.counts.failed).toBe(1)
  })

  it('a handler that returns, throws, rejects, or returns a thenable: ok, failed, failed, its settled value', async () => {
    const { runner: r, events } = runner({
      handleMessage: (value) => {
        if (value === 'throws') throw new Error('sync')
        if (value === 'rejects') return Promise.reject(new Error('async'))
        // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a Promise, on purpose.
        if (value === 'thenable') return { then: (resolve: (v: unknown) => void) => resolve('later') }
        return value
      },
    })
    const handled = await r.handle(
      queueUrl,
      ['returns', 'throws', 'rejects', 'thenable'].map((v) => job(v, v)),
      Date.now(),
      keep,
    )
    expect(handled.map((h) => h.result)).toEqual(['ok', 'failed', 'failed', 'ok'])
    expect((events.processing_error as Error[]).map((e) => e.message)).toEqual(['sync', 'async'])
  })

  it('a run already aborted: a handler that returns is still reported aborted (as before any abort listener)', async () => {
    let ran = 0
    const { runner: r, signals } = runner({ handleMessage: () => void ran++ })
    signals.abortWork(new SqsEnvelopeError('ABORTED', 'stop'))
    expect(await r.handle(queueUrl, [job('a', 'a')], Date.now(), keep)).toEqual([
      expect.objectContaining({ result: 'aborted', seconds: 0 }),
    ])
    expect(ran).toBe(1)
  })

  it('FIFO: groups run concurrently, each in order; after a failure the rest of its group is held', async () => {
    const order: string[] = []
    const { runner: r } = runner({
      handleMessage: async (value) => {
        order.push(value as string)
        await new Promise((resolve) => setTimeout(resolve, 10))
        if (value === 'g1-b') throw new Error('fails')
      },
    })
    const jobs = [job('1', 'g1-a', 'g1'), job('2', 'g2-a', 'g2'), job('3', 'g1-b', 'g1'), job('4', 'g1-c', 'g1')]
    const handled = r.handle(fifoUrl, jobs, Date.now(), keep)
    await vi.advanceTimersByTimeAsync(50)
    const results = Object.fromEntries((await handled).map((h) => [h.message.MessageId, h.result]))
    expect(results).toEqual({ '1': 'ok', '2': 'ok', '3': 'failed', '4': 'held' })
    expect(order).toEqual(['g1-a', 'g2-a', 'g1-b'])
  })

  it('a batch handler: batchItemFailures fail, the rest are acknowledged; an unknown shape acknowledges nothing', async () => {
    let reply: unknown = { batchItemFailures: [{ itemIdentifier: 'b' }] }
    const { runner: r } = runner({ handleMessage: undefined, handleMessageBatch: () => reply as undefined })
    const jobs = [job('a', 1), job('b', 2)]
    expect((await r.handle(queueUrl, jobs, Date.now(), keep)).map((h) => h.result)).toEqual(['ok', 'failed'])
    reply = { batchItemFailures: 'nope' }
    expect((await r.handle(queueUrl, jobs, Date.now(), keep)).map((h) => h.result)).toEqual(['failed', 'failed'])
  })

  it('past stragglerAfterMs the unfinished jobs are detached (within pollers × batchSize) and deleted when they settle', async () => {
    const finishers: Array<() => void> = []
    const finish = () => {
      for (const f of finishers.splice(0)) f()
    }
    const {
      runner: r,
      sqs,
      reporter,
    } = runner({
      stragglerAfterMs: 100,
      pollers: 1,
      batchSize: 1,
      handleMessage: (value) =>
        value === 'slow' ? new Promise<void>((resolve) => finishers.push(resolve)) : undefined,
    })
    reporter.counts.inFlight = 1
    const detached: string[] = []
    const handled = r.handle(queueUrl, [job('slow', 'slow')], Date.now(), (m) => detached.push(m.MessageId ?? ''))
    await vi.advanceTimersByTimeAsync(100)
    expect(await handled).toEqual([])
    expect(detached).toEqual(['slow'])
    finish()
    await vi.advanceTimersByTimeAsync(1)
    expect(sqs.calls.map((c) => [c.name, c.input.ReceiptHandle])).toEqual([['DeleteMessageCommand', 'r-slow']])
    expect(reporter.counts.inFlight).toBe(0)

    // Over capacity (two pending, room for one): the batch holds its poller instead.
    const both = r.handle(queueUrl, [job('x', 'slow'), job('y', 'slow')], Date.now(), (m) =>
      detached.push(m.MessageId ?? ''),
    )
    await vi.advanceTimersByTimeAsync(150)
    expect(detached).toEqual(['slow'])
    finish()
    await vi.advanceTimersByTimeAsync(1)
    await both
  })

  it('a detached job is renewed on the heartbeat grid of its receipt (first renewal one interval after receipt)', async () => {
    const { runner: r, sqs } = runner({
      stragglerAfterMs: 100,
      heartbeatInterval: 3,
      visibilityTimeout: 4,
      handleMessage: () => new Promise((resolve) => setTimeout(resolve, 4000)),
    })
    // Received 2.5 s ago (the batch waited on other jobs): the next renewal is due 0.5 s from now.
    const receivedAt = Date.now() - 2500
    const started = Date.now()
    void r.handle(queueUrl, [job('a', 'a')], receivedAt, keep)
    await vi.advanceTimersByTimeAsync(4000)
    const renewals = sqs.calls.filter((c) => c.name === 'ChangeMessageVisibilityBatchCommand')
    expect(renewals.map((c) => c.at - started)).toEqual([500, 3500])
    expect(renewals.map((c) => c.input.Entries[0].VisibilityTimeout)).toEqual([4, 4])
  })
})
