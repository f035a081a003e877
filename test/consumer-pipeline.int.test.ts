import type { SQSClient } from '@aws-sdk/client-sqs'
import { EnvelopeConsumer } from '@sqs-envelope/consumer'
import type { EnvelopeSealer } from '@sqs-envelope/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queueDepth, recordEvents, sealJobs, sendRaw, waitFor } from './consumer-support.ts'
import { localstackFixture } from './support.ts'

const fixture = localstackFixture({ keys: 1 })
const { sqs, kms, newQueue, newSealer } = fixture
let sealer: EnvelopeSealer

beforeAll(async () => {
  sealer = newSealer()
})

afterAll(() => {
  sealer.close()
})

interface Span {
  readonly command: string
  readonly start: number
  end: number
}

/** The real client; DeleteMessageBatch is held `deleteDelayMs` before it goes out, and `failDeletes` of them fail. */
function slowDeletes(deleteDelayMs: number, failDeletes = 0) {
  const spans: Span[] = []
  let failures = failDeletes
  const client = new Proxy(sqs, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver)
      return async (command: { constructor: { name: string } }, options?: unknown) => {
        const span: Span = {
          command: command.constructor.name,
          start: performance.now(),
          end: Number.POSITIVE_INFINITY,
        }
        spans.push(span)
        try {
          if (span.command === 'DeleteMessageBatchCommand') {
            await new Promise((resolve) => setTimeout(resolve, deleteDelayMs))
            if (failures > 0) {
              failures--
              throw new Error('DeleteMessageBatch refused by the test')
            }
          }
          return await target.send(command as never, options as never)
        } finally {
          span.end = performance.now()
        }
      }
    },
  }) as SQSClient
  return { client, spans }
}

describe('EnvelopeConsumer: pipelined deletes (standard queues)', () => {
  it('the next receive goes out while the previous batch’s DeleteMessageBatch runs; at most one delete pending per poller; all deleted', async () => {
    const queue = await newQueue({ prefix: 'consumer-pipeline', visibilityTimeoutSeconds: 30 })
    await sendRaw(sqs, queue.queueUrl, await sealJobs(sealer, 30))
    const { client, spans } = slowDeletes(800)
    let handled = 0
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs: client,
      kms,
      pollers: 1,
      waitTimeSeconds: 1,
      handleMessage: () => {
        handled++
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => (events.message_processed?.length ?? 0) === 30, 30_000, 'all 30 processed')
    await consumer.stop()
    const deletes = spans.filter((s) => s.command === 'DeleteMessageBatchCommand')
    const receives = spans.filter((s) => s.command === 'ReceiveMessageCommand')
    expect(deletes.length).toBeGreaterThanOrEqual(3)
    // A receive started while the first delete was still running.
    const first = deletes[0] as Span
    expect(receives.some((r) => r.start > first.start && r.start < first.end)).toBe(true)
    // Never two deletes of the one poller at a time.
    for (const [i, d] of deletes.entries()) {
      for (const other of deletes.slice(i + 1)) expect(other.start >= d.end || other.end <= d.start).toBe(true)
    }
    expect(handled).toBe(30)
    expect(consumer.metrics()).toMatchObject({ processed: 30, inFlight: 0 })
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 60_000)

  it('a DeleteMessageBatch that fails is reported (error event with the message ids), not counted processed, and the jobs come back', async () => {
    const queue = await newQueue({ prefix: 'consumer-pipeline-fail', visibilityTimeoutSeconds: 1 })
    await sendRaw(sqs, queue.queueUrl, await sealJobs(sealer, 5))
    const { client } = slowDeletes(0, 1)
    const runs: string[] = []
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs: client,
      kms,
      pollers: 1,
      waitTimeSeconds: 1,
      handleMessage: (_job, { messageId }) => {
        runs.push(messageId)
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(
      () => (events.message_processed?.length ?? 0) === 5,
      30_000,
      'all 5 processed after the failed delete',
    )
    await consumer.stop()
    expect(events.error?.[0]?.[0]).toMatchObject({
      message: expect.stringContaining('DeleteMessageBatch refused by the test'),
    })
    const reported = (events.error?.[0]?.[1] as { messageIds?: string[] } | undefined)?.messageIds ?? []
    expect(reported.length).toBeGreaterThan(0)
    // The jobs of the failed delete were handled again after their visibility timeout.
    for (const id of reported) expect(runs.filter((r) => r === id)).toHaveLength(2)
    expect(consumer.metrics()).toMatchObject({ processed: 5, inFlight: 0 })
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 60_000)
})
