// The public Producer over a small fake of SQSClient.send (scripted SendMessageBatch answers) and a
// fake KMS: batching, results, retries, FIFO ids, timeouts and aborts, without LocalStack.
import { randomBytes } from 'node:crypto'
import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { EnvelopeOpener, EnvelopeSealer, isSqsEnvelopeError } from '@sqs-envelope/core'
import { fromXrayHeader } from '@sqs-envelope/core/internal'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Producer, type ProducerSealingOptions, type SendResult } from './index.ts'
import { minimumBatches } from './plan.ts'

const KEY_ARN = 'arn:aws:kms:eu-west-1:000000000000:key/11111111-2222-3333-4444-555555555555'
const STANDARD = 'https://sqs.eu-west-1.amazonaws.com/000000000000/jobs'
const FIFO = 'https://sqs.eu-west-1.amazonaws.com/000000000000/jobs.fifo'

/** A fake KMS: GenerateDataKey and Decrypt answer at once, with a 116-byte blob as LocalStack's. */
function fakeKms() {
  const keys = new Map<string, Buffer>()
  const calls: string[] = []
  const client = {
    async send(command: { constructor: { name: string }; input: { CiphertextBlob?: Uint8Array } }) {
      calls.push(command.constructor.name)
      if (command.constructor.name === 'GenerateDataKeyCommand') {
        const plaintext = randomBytes(32)
        const blob = randomBytes(116)
        keys.set(blob.toString('hex'), Buffer.from(plaintext))
        return { Plaintext: plaintext, CiphertextBlob: blob, KeyId: KEY_ARN }
      }
      const known = keys.get(Buffer.from(command.input.CiphertextBlob ?? []).toString('hex'))
      if (!known) throw Object.assign(new Error('unknown blob'), { name: 'InvalidCiphertextException' })
      return { Plaintext: Buffer.from(known), KeyId: KEY_ARN }
    },
  }
  return { client: client as never, calls }
}

type Answer = (
  entries: readonly SendMessageBatchRequestEntry[],
  request: number,
  signal: AbortSignal | undefined,
) => unknown

/** Every entry accepted, with a message id naming the request and the entry. */
const acceptAll: Answer = (entries, request) => ({
  Successful: entries.map((e) => ({ Id: e.Id, MessageId: `m${request}-${e.Id}`, MD5OfMessageBody: '' })),
  Failed: [],
})

/** A fake SQSClient: queue attributes as given, SendMessageBatch answered by `answer` (scripted per request). */
function fakeSqs(
  attributes: Record<string, string> = {},
  answer: Answer = acceptAll,
  config?: { maxAttempts: number },
) {
  const batches: SendMessageBatchRequestEntry[][] = []
  const signals: (AbortSignal | undefined)[] = []
  const client = {
    ...(config === undefined ? {} : { config }),
    async send(command: unknown, options?: { abortSignal?: AbortSignal }) {
      signals.push(options?.abortSignal)
      if (command instanceof GetQueueAttributesCommand) {
        return { Attributes: { MaximumMessageSize: '262144', ...attributes } }
      }
      if (!(command instanceof SendMessageBatchCommand)) throw new Error('unexpected command')
      const entries = command.input.Entries ?? []
      batches.push(entries)
      return answer(entries, batches.length, options?.abortSignal)
    },
  }
  return { client: client as unknown as SQSClient, batches, signals }
}

/** An AWS SDK error as the client throws it. */
function awsError(name: string, httpStatusCode: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode } })
}

/** Never answers; fails as the SDK does when the request's signal aborts. */
function hang(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })))
  })
}

function producerOn(sqs: SQSClient, options: Partial<ProducerSealingOptions<'text'>> = {}) {
  const kms = fakeKms()
  const producer = new Producer({ queueUrl: STANDARD, kmsKeyId: 'alias/jobs', kms: kms.client, sqs, ...options })
  return { producer, kms }
}

function codes(results: SendResult[]) {
  return results.map((r) => (r.ok ? 'ok' : r.error.code))
}

afterEach(() => {
  vi.useRealTimers()
})

describe('Producer over a fake SQS client', () => {
  it('packs jobs by count: 25 small jobs in 3 requests of 10, 10 and 5; one result per job, in input order', async () => {
    const sqs = fakeSqs()
    const { producer, kms } = producerOn(sqs.client)
    const jobs = Array.from({ length: 25 }, (_, i) => ({ id: `job-${i}`, body: `payload ${i}` }))
    const results = await producer.send(jobs)
    expect(sqs.batches.map((b) => b.length).sort((a, b) => b - a)).toEqual([10, 10, 5])
    expect(results.map((r) => [r.index, r.id, r.ok])).toEqual(jobs.map((j, i) => [i, j.id, true]))
    // Each result's message id is the one SQS gave its own entry.
    const byEntry = new Map(sqs.batches.flatMap((b, n) => b.map((e) => [e.Id, `m${n + 1}-${e.Id}`])))
    for (const r of results) expect(r.ok && r.messageId).toBe(byEntry.get(String(r.index)))
    expect(kms.calls).toEqual(['GenerateDataKeyCommand'])
    expect(producer.metrics()).toMatchObject({ messagesSent: 25, messagesFailed: 0, batches: 3, retries: 0 })
    // What was sent opens to the input.
    const opener = new EnvelopeOpener({ kms: kms.client })
    const entry = sqs.batches[0]?.[0] as SendMessageBatchRequestEntry
    const opened = await opener.open({ Body: entry.MessageBody, MessageAttributes: entry.MessageAttributes as never })
    expect(opened.value).toBe(`payload ${entry.Id}`)
    opener.close()
    await producer.close()
  }, 2000)

  it('packs jobs by size: no request over MaximumMessageSize, in the fewest requests', async () => {
    const sqs = fakeSqs({ MaximumMessageSize: '4096' })
    const { producer } = producerOn(sqs.client)
    const jobs = Array.from({ length: 12 }, (_, i) => 'x'.repeat(300 + i * 150))
    const results = await producer.send(jobs)
    expect(codes(results).every((c) => c === 'ok')).toBe(true)
    const bytes = results.map((r) => (r.ok ? r.bytes : 0))
    for (const batch of sqs.batches) {
      expect(batch.reduce((sum, e) => sum + (bytes[Number(e.Id)] ?? 0), 0)).toBeLessThanOrEqual(4096)
    }
    expect(sqs.batches).toHaveLength(minimumBatches(bytes, { maxEntries: 10, maxBytes: 4096 }))
    expect(sqs.batches.length).toBeGreaterThan(1)
    await producer.close()
  }, 2000)

  it('retries only the retryable failed entries, after a backoff; a sender fault fails at once', async () => {
    vi.useFakeTimers()
    const answer: Answer = (entries, request) => {
      if (request > 1) return acceptAll(entries, request, undefined)
      const failing = new Map([
        ['3', { Code: 'ThrottlingException', SenderFault: true }],
        ['5', { Code: 'InvalidParameterValue', SenderFault: true }],
        ['7', { Code: 'InternalError', SenderFault: false }],
      ])
      return {
        Successful: entries
          .filter((e) => !failing.has(e.Id as string))
          .map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
        Failed: [...failing].map(([Id, f]) => ({ Id, ...f })) as never,
      }
    }
    const sqs = fakeSqs({}, answer)
    const { producer } = producerOn(sqs.client, { sqsRetryBaseDelayMs: 100, sqsRetryMaxDelayMs: 100 })
    const sending = producer.send(Array.from({ length: 10 }, (_, i) => `job ${i}`))
    await vi.advanceTimersByTimeAsync(0)
    expect(sqs.batches).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(49) // equal jitter: at least half the backoff
    expect(sqs.batches).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(51)
    const results = await sending
    expect(sqs.batches.map((b) => b.map((e) => e.Id))).toEqual([
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      ['3', '7'],
    ])
    expect(codes(results)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'SQS_REJECTED', 'ok', 'ok', 'ok', 'ok'])
    const rejected = results[5]
    expect(rejected?.ok === false && rejected.error.toJSON()).toEqual({
      name: 'SendFailure',
      code: 'SQS_REJECTED',
      message: 'SQS SendMessageBatch failed with InvalidParameterValue after 1 attempt',
      sqsCode: 'InvalidParameterValue',
      retryable: false,
      mayHaveBeenSent: false,
      attempts: 1,
    })
    expect(producer.metrics()).toMatchObject({ messagesSent: 9, messagesFailed: 1, batches: 2, retries: 2 })
    await producer.close()
  }, 2000)

  it('a throttled or failing request is retried whole up to sqsMaxAttempts, then SQS_UNAVAILABLE', async () => {
    vi.useFakeTimers()
    const errors = [
      awsError('ThrottlingException', 400),
      awsError('InternalFailure', 500),
      awsError('InternalFailure', 500),
    ]
    const sqs = fakeSqs({}, () => {
      throw errors.shift() ?? new Error('no more errors scripted')
    })
    const { producer } = producerOn(sqs.client, { sqsMaxAttempts: 3, sqsRetryBaseDelayMs: 10, sqsRetryMaxDelayMs: 20 })
    const sending = producer.send(['a', 'b'])
    await vi.advanceTimersByTimeAsync(100)
    const results = await sending
    expect(sqs.batches).toHaveLength(3)
    for (const r of results) {
      expect(
        r.ok === false && [r.error.code, r.error.sqsCode, r.error.retryable, r.error.mayHaveBeenSent, r.error.attempts],
      ).toEqual(['SQS_UNAVAILABLE', 'InternalFailure', true, true, 3])
    }
    expect(producer.metrics()).toMatchObject({ batches: 3, retries: 4, messagesFailed: 2 })
    await producer.close()
  }, 2000)

  it('an injected client with SDK retries on retries a failed request itself: ours make one attempt', async () => {
    const sqs = fakeSqs({}, () => Promise.reject(awsError('InternalFailure', 500)), { maxAttempts: 3 })
    const { producer } = producerOn(sqs.client, { sqsRetryBaseDelayMs: 0 })
    const [result] = await producer.send('a')
    expect(result?.ok === false && [result.error.code, result.error.attempts]).toEqual(['SQS_UNAVAILABLE', 1])
    expect(sqs.batches).toHaveLength(1)
    await producer.close()
  }, 2000)

  it('a request SQS never answers times out after requestTimeoutMs and is retried; it may have been sent', async () => {
    const sqs = fakeSqs({}, (entries, request, signal) =>
      request === 1 ? hang(signal) : acceptAll(entries, request, signal),
    )
    const { producer } = producerOn(sqs.client, { requestTimeoutMs: 50, sqsRetryBaseDelayMs: 1 })
    const started = performance.now()
    const [result] = await producer.send('a')
    expect(result?.ok).toBe(true)
    expect(sqs.batches).toHaveLength(2)
    expect(performance.now() - started).toBeGreaterThanOrEqual(45)
    // Every request carried a signal, the attribute read's included.
    expect(sqs.signals.every((s) => s instanceof AbortSignal)).toBe(true)

    const never = fakeSqs({}, (_, __, signal) => hang(signal))
    const stuck = producerOn(never.client, { requestTimeoutMs: 30, sqsMaxAttempts: 2, sqsRetryBaseDelayMs: 1 }).producer
    const [timedOut] = await stuck.send('b')
    expect(
      timedOut?.ok === false && [
        timedOut.error.code,
        timedOut.error.sqsCode,
        timedOut.error.mayHaveBeenSent,
        timedOut.error.attempts,
      ],
    ).toEqual(['SQS_UNAVAILABLE', 'TimeoutError', true, 2])
    await Promise.all([producer.close(), stuck.close()])
  }, 2000)

  it('FIFO: entries carry their group and an HMAC deduplication id, equal for equal jobs; batches keep input order', async () => {
    const sqs = fakeSqs({ FifoQueue: 'true', ContentBasedDeduplication: 'true' })
    const { producer } = producerOn(sqs.client, { queueUrl: FIFO, deduplicationSecret: 'a secret of 16+ bytes' })
    const jobs = Array.from({ length: 12 }, (_, i) => ({ body: `job ${i % 6}`, groupId: `g${i % 2}` }))
    const results = await producer.send([...jobs, { body: 'own id', groupId: 'g0', deduplicationId: 'mine' }])
    expect(codes(results).every((c) => c === 'ok')).toBe(true)
    const entries = sqs.batches.flat()
    expect(entries.map((e) => e.Id)).toEqual(Array.from({ length: 13 }, (_, i) => String(i)))
    expect(entries.map((e) => e.MessageGroupId)).toEqual([...jobs.map((j) => j.groupId), 'g0'])
    const ids = entries.map((e) => e.MessageDeduplicationId as string)
    expect(ids.slice(0, 12).every((id) => /^[0-9a-f]{64}$/.test(id))).toBe(true)
    expect(ids[0]).toBe(ids[6])
    expect(ids[0]).not.toBe(ids[1])
    expect(ids[12]).toBe('mine')
    await producer.close()
  }, 2000)

  it('an abort during the backoff fails what is left with ABORTED and sends nothing more', async () => {
    vi.useFakeTimers()
    const sqs = fakeSqs({}, (entries) => ({
      Successful: [{ Id: '0', MessageId: 'm-0' }],
      Failed: entries.slice(1).map((e) => ({ Id: e.Id, Code: 'ServiceUnavailable', SenderFault: false })) as never,
    }))
    const { producer } = producerOn(sqs.client, { sqsRetryBaseDelayMs: 1000, sqsRetryMaxDelayMs: 1000 })
    const controller = new AbortController()
    const sending = producer.send(['a', 'b', 'c'], { signal: controller.signal })
    await vi.advanceTimersByTimeAsync(10)
    controller.abort()
    const results = await sending
    expect(codes(results)).toEqual(['ok', 'ABORTED', 'ABORTED'])
    expect(results[1]?.ok === false && [results[1].error.attempts, results[1].error.retryable]).toEqual([1, true])
    expect(sqs.batches).toHaveLength(1)
    await producer.close()
  }, 2000)

  it('a job with an attribute SQS would refuse fails alone with ATTRIBUTE_INVALID; the others are sent', async () => {
    const sqs = fakeSqs()
    const { producer } = producerOn(sqs.client)
    const jobs = Array.from({ length: 10 }, (_, i) => ({
      body: `job ${i}`,
      messageAttributes: { tenant: { DataType: 'String', StringValue: i === 4 ? 'bad \uD800 value' : `t${i}` } },
    }))
    const results = await producer.send(jobs)
    expect(codes(results)).toEqual(['ok', 'ok', 'ok', 'ok', 'ATTRIBUTE_INVALID', 'ok', 'ok', 'ok', 'ok', 'ok'])
    const bad = results[4]
    expect(bad?.ok === false && [bad.error.retryable, bad.error.attempts, bad.error.mayHaveBeenSent]).toEqual([
      false,
      0,
      false,
    ])
    expect(sqs.batches.flat().map((e) => e.Id)).toEqual(['0', '1', '2', '3', '5', '6', '7', '8', '9'])
    await producer.close()
  }, 2000)

  it('a large send goes out window by window: the first request leaves before the last seal', async () => {
    const kms = fakeKms()
    const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/jobs', kms: kms.client })
    let seals = 0
    const counting = Object.assign(Object.create(sealer) as EnvelopeSealer, {
      seal: (...args: Parameters<EnvelopeSealer['seal']>) => {
        seals++
        return sealer.seal(...args)
      },
    })
    let sealsAtFirstRequest = -1
    const sqs = fakeSqs({}, (entries, request) => {
      if (request === 1) sealsAtFirstRequest = seals
      return acceptAll(entries, request, undefined)
    })
    const producer = new Producer({ queueUrl: STANDARD, sealer: counting, sqs: sqs.client })
    const results = await producer.send(Array.from({ length: 2500 }, (_, i) => `j${i}`))
    expect(codes(results).every((c) => c === 'ok')).toBe(true)
    expect(seals).toBe(2500)
    expect(sealsAtFirstRequest).toBeGreaterThan(0)
    expect(sealsAtFirstRequest).toBeLessThan(2500)
    await producer.close()
    sealer.close()
  }, 2000)

  it('rejects sends once closed, and closes through Symbol.asyncDispose', async () => {
    const sqs = fakeSqs()
    const { producer } = producerOn(sqs.client)
    await producer[Symbol.asyncDispose]()
    const error = await producer.send('a').catch((e: unknown) => e)
    expect(isSqsEnvelopeError(error) && error.code).toBe('CLOSED')
    expect(sqs.batches).toHaveLength(0)
  }, 2000)
})

describe('Producer tracing over a fake SQS client', () => {
  function traced() {
    const exporter = new InMemorySpanExporter()
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    return { exporter, tracerProvider }
  }

  it('off by default (no SDK registered): entries carry no AWSTraceHeader and no traceparent', async () => {
    const sqs = fakeSqs()
    const { producer } = producerOn(sqs.client, { traceAttributes: true })
    await producer.send(['a', 'b'])
    for (const entry of sqs.batches.flat()) {
      expect(entry.MessageSystemAttributes).toBeUndefined()
      expect(entry.MessageAttributes?.traceparent).toBeUndefined()
    }
  })

  it("each entry's AWSTraceHeader names its create span; the send span links them; traceparent only where there is room", async () => {
    const sqs = fakeSqs()
    const { exporter, tracerProvider } = traced()
    const { producer } = producerOn(sqs.client, { tracerProvider, traceAttributes: true })
    const eight = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`app.a${i}`, { DataType: 'String', StringValue: String(i) }]),
    )
    const results = await producer.send([{ body: 'full', messageAttributes: eight }, 'room'])
    expect(codes(results)).toEqual(['ok', 'ok'])
    const spans = exporter.getFinishedSpans()
    const creates = spans.filter((s) => s.name === 'create jobs')
    const send = spans.find((s) => s.name === 'send jobs')
    const entries = sqs.batches.flat()
    for (const entry of entries) {
      const header = fromXrayHeader(entry.MessageSystemAttributes?.AWSTraceHeader?.StringValue)
      expect(creates.map((s) => s.spanContext().spanId)).toContain(header?.spanId)
    }
    const [full, room] = entries
    expect(Object.keys(full?.MessageAttributes ?? {})).toHaveLength(10)
    expect(full?.MessageAttributes?.traceparent).toBeUndefined()
    expect(room?.MessageAttributes?.traceparent?.StringValue).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    expect(send?.links).toHaveLength(2)
    expect(send?.attributes).toMatchObject({ 'messaging.batch.message_count': 2, 'messaging.operation.type': 'send' })
  })

  it('a rejected request sets the send span’s error status to the code the jobs fail with', async () => {
    const sqs = fakeSqs({}, () => {
      throw awsError('InvalidParameterValue', 400)
    })
    const { exporter, tracerProvider } = traced()
    const { producer } = producerOn(sqs.client, { tracerProvider })
    const results = await producer.send('x')
    expect(codes(results)).toEqual(['SQS_REJECTED'])
    const send = exporter.getFinishedSpans().find((s) => s.name === 'send jobs')
    expect(send?.status).toEqual({ code: 2, message: 'SQS_REJECTED' })
  })
})
