import { EnvelopeConsumer, type MessageContext } from '@sqs-envelope/consumer'
import { type EnvelopeSealer, isSqsEnvelopeError } from '@sqs-envelope/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { queueDepth, receiveAll, recordEvents, sealedToRaw, sendRaw, waitFor } from './consumer-support.ts'
import { localstackFixture } from './support.ts'

const fixture = localstackFixture({ keys: 1 })
const { sqs, kms, newQueue, newSealer } = fixture
let sealer: EnvelopeSealer

beforeAll(async () => {
  sealer = newSealer()
})

async function sendJobs(queueUrl: string, jobs: readonly string[]) {
  const sealed = []
  for (const job of jobs) sealed.push(sealedToRaw(await sealer.seal(job)))
  await sendRaw(sqs, queueUrl, sealed)
}

describe('EnvelopeConsumer: handler contract', () => {
  it('a handler that throws leaves the job for redelivery; the next delivery sees receiveCount 2 and acknowledges', async () => {
    const queue = await newQueue({ prefix: 'consumer-throw', visibilityTimeoutSeconds: 1 })
    await sendJobs(queue.queueUrl, ['flaky'])
    const counts: number[] = []
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      waitTimeSeconds: 1,
      handleMessage: (_job, { receiveCount }) => {
        counts.push(receiveCount)
        if (receiveCount === 1) throw new Error('first try fails')
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => (events.message_processed?.length ?? 0) === 1, 20_000, 'the second delivery processed')
    await consumer.stop()
    expect(counts).toEqual([1, 2])
    expect(events.processing_error).toHaveLength(1)
    expect(events.processing_error?.[0]?.[0]).toMatchObject({ message: 'first try fails' })
    expect(consumer.metrics()).toMatchObject({ failed: 1, processed: 1 })
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 60_000)

  it('handlerTimeoutMs aborts the handler’s signal (HANDLER_TIMEOUT), reports timeout_error and leaves the job', async () => {
    const queue = await newQueue({ prefix: 'consumer-timeout', visibilityTimeoutSeconds: 30 })
    await sendJobs(queue.queueUrl, ['slow'])
    let reason: unknown
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      waitTimeSeconds: 1,
      handlerTimeoutMs: 300,
      // Back after 0–1 s rather than after the 30 s visibility timeout.
      handlerErrorBackoff: { baseDelaySeconds: 1, maxDelaySeconds: 1 },
      handleMessage: (_job, { signal, receiveCount }) =>
        receiveCount > 1
          ? undefined
          : new Promise((_, reject) =>
              signal.addEventListener('abort', () => {
                reason = signal.reason
                reject(signal.reason)
              }),
            ),
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => (events.message_processed?.length ?? 0) === 1, 20_000, 'the retry processed')
    await consumer.stop()
    expect(isSqsEnvelopeError(reason) && reason.code).toBe('HANDLER_TIMEOUT')
    expect(events.timeout_error).toHaveLength(1)
    expect(events.timeout_error?.[0]?.[1]).toMatchObject({ queueUrl: queue.queueUrl, receiveCount: 1 })
    expect(events.processing_error).toHaveLength(0)
    await queue.delete()
  }, 60_000)

  it('handleMessageBatch: batchItemFailures are left for redelivery, the rest acknowledged', async () => {
    const queue = await newQueue({ prefix: 'consumer-batch', visibilityTimeoutSeconds: 1 })
    await sendJobs(queue.queueUrl, ['a', 'b', 'c', 'd', 'e'])
    const deliveries: string[] = []
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      pollers: 1,
      waitTimeSeconds: 1,
      handleMessageBatch: (jobs) => {
        for (const j of jobs) deliveries.push(`${j.job}${j.receiveCount}`)
        const failures = jobs.filter((j) => j.job === 'c' && j.receiveCount === 1)
        return { batchItemFailures: failures.map((j) => ({ itemIdentifier: j.messageId })) }
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => (events.message_processed?.length ?? 0) === 5, 20_000, 'all five processed')
    await consumer.stop()
    expect(deliveries.filter((d) => d.startsWith('c')).sort()).toEqual(['c1', 'c2'])
    expect(new Set(deliveries)).toEqual(new Set(['a1', 'b1', 'c1', 'd1', 'e1', 'c2']))
    expect(events.processing_error).toHaveLength(1)
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 60_000)

  it('a slow job does not hold its poller: past stragglerAfterMs it runs on detached and the poller polls again', async () => {
    const queue = await newQueue({ prefix: 'consumer-straggler', visibilityTimeoutSeconds: 30 })
    await sendJobs(queue.queueUrl, ['slow'])
    let releaseSlow: (() => void) | undefined
    const slowGate = new Promise<void>((resolve) => {
      releaseSlow = resolve
    })
    const handled: string[] = []
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      pollers: 1,
      waitTimeSeconds: 1,
      stragglerAfterMs: 200,
      handleMessage: async (job) => {
        if (job === 'slow') await slowGate
        handled.push(job)
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => consumer.metrics().received === 1, 20_000, 'the slow job received')
    await sendJobs(queue.queueUrl, ['f1', 'f2', 'f3', 'f4', 'f5'])
    // The only poller is free again although the slow job runs on. Wait for the fast jobs' delete,
    // not only their handlers: a job stays in flight until its DeleteMessageBatch answered.
    await waitFor(
      () => handled.length === 5 && (events.message_processed?.length ?? 0) === 5,
      20_000,
      'the fast jobs handled and deleted while the slow one runs',
    )
    expect(handled).not.toContain('slow')
    expect(consumer.metrics().inFlight).toBe(1)
    releaseSlow?.()
    await waitFor(() => (events.message_processed?.length ?? 0) === 6, 20_000, 'the slow job deleted')
    await consumer.stop()
    expect(handled.at(-1)).toBe('slow')
    expect(consumer.metrics()).toMatchObject({ processed: 6, inFlight: 0 })
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 60_000)

  it('one consumer, two queues: both drained through one opener', async () => {
    const [q1, q2] = await Promise.all([
      newQueue({ prefix: 'consumer-multi-1' }),
      newQueue({ prefix: 'consumer-multi-2' }),
    ])
    await Promise.all([sendJobs(q1.queueUrl, ['x1', 'x2']), sendJobs(q2.queueUrl, ['y1', 'y2'])])
    const seen: Array<[string, string]> = []
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: [q1.queueUrl, q2.queueUrl],
      sqs,
      kms,
      pollers: 1,
      waitTimeSeconds: 1,
      handleMessage: (job, ctx: MessageContext) => {
        seen.push([job, ctx.queueUrl])
      },
    })
    consumer.start()
    await waitFor(() => seen.length === 4, 20_000, 'four jobs')
    // Disposal stops and closes what the consumer built (its opener), never the injected clients.
    await consumer[Symbol.asyncDispose]()
    expect(consumer.status.state).toBe('stopped')
    expect(seen.sort()).toEqual([
      ['x1', q1.queueUrl],
      ['x2', q1.queueUrl],
      ['y1', q2.queueUrl],
      ['y2', q2.queueUrl],
    ])
    await Promise.all([q1.delete(), q2.delete()])
  }, 60_000)
})

describe('EnvelopeConsumer: stop with work in flight', () => {
  it('stop() lets in-flight handlers finish within timeoutMs; their jobs are deleted', async () => {
    const queue = await newQueue({ prefix: 'consumer-drain' })
    await sendJobs(queue.queueUrl, ['j1', 'j2', 'j3'])
    let started = 0
    let finished = 0
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      waitTimeSeconds: 1,
      handleMessage: async () => {
        started++
        await new Promise((resolve) => setTimeout(resolve, 800))
        finished++
      },
    })
    consumer.start()
    await waitFor(() => started === 3, 20_000, 'three handlers running')
    const stopping = consumer.stop({ timeoutMs: 10_000 })
    expect(consumer.stop()).toBe(stopping)
    expect(consumer.status).toMatchObject({ isRunning: false, state: 'stopping' })
    await stopping
    await expect(consumer.stop()).resolves.toBeUndefined()
    expect(finished).toBe(3)
    expect(consumer.metrics()).toMatchObject({ processed: 3, inFlight: 0 })
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 60_000)

  it('past timeoutMs, stop() aborts handler signals and releases their jobs at once (visible again, not deleted)', async () => {
    const queue = await newQueue({ prefix: 'consumer-abort', visibilityTimeoutSeconds: 60 })
    await sendJobs(queue.queueUrl, ['stuck'])
    let aborted = false
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      // One poller, busy with the stuck job: no other long poll (whose server side outlives its abort) can take it again.
      pollers: 1,
      waitTimeSeconds: 1,
      handleMessage: (_job, { signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true
            reject(signal.reason)
          }),
        ),
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => consumer.metrics().inFlight === 1, 20_000, 'the handler running')
    const t0 = performance.now()
    await consumer.stop({ timeoutMs: 200 })
    const stopMs = performance.now() - t0
    console.info(`[consumer-abort] stop({ timeoutMs: 200 }) with a stuck handler took ${stopMs.toFixed(0)} ms`)
    expect(aborted).toBe(true)
    expect(consumer.metrics()).toMatchObject({ processed: 0, inFlight: 0 })
    expect(events.message_processed).toHaveLength(0)
    // Released with visibility 0: receivable now, long before the queue's 60 s.
    const [back] = await receiveAll(sqs, queue.queueUrl, 1)
    expect(back?.Attributes?.ApproximateReceiveCount).toBe('2')
    await queue.delete()
  }, 60_000)

  it('a detached job is waited for by stop() too, and aborted past timeoutMs (left in the queue, not deleted)', async () => {
    const queue = await newQueue({ prefix: 'consumer-abort-detached', visibilityTimeoutSeconds: 60 })
    await sendJobs(queue.queueUrl, ['stuck'])
    let aborted = false
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      pollers: 1,
      waitTimeSeconds: 1,
      stragglerAfterMs: 50,
      handleMessage: (_job, { signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true
            reject(signal.reason)
          }),
        ),
    })
    consumer.start()
    await waitFor(() => consumer.metrics().inFlight === 1, 20_000, 'the handler running')
    // Detached by now: the poller is polling again while the job runs on.
    await waitFor(() => consumer.status.isPolling, 5_000, 'the poller free again')
    expect(consumer.metrics().inFlight).toBe(1)
    await consumer.stop({ timeoutMs: 200 })
    expect(aborted).toBe(true)
    expect(consumer.metrics()).toMatchObject({ processed: 0, inFlight: 0 })
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(1)
    await queue.delete()
  }, 60_000)
})
