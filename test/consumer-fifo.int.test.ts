import { SendMessageBatchCommand } from '@aws-sdk/client-sqs'
import { EnvelopeConsumer } from '@sqs-envelope/consumer'
import { describe, expect, it } from 'vitest'
import { queueDepth, receiveAll, recordEvents, waitFor } from './consumer-support.ts'
import { localstackFixture } from './support.ts'

const { sqs, kms, newQueueWithKey } = localstackFixture()

describe('EnvelopeConsumer: FIFO queues', () => {
  it('jobs of one group are handled in order, a failure holds the rest of its group; poison reaches the FIFO DLQ', async () => {
    const { queue, sealer } = await newQueueWithKey({
      prefix: 'consumer-fifo',
      fifo: true,
      visibilityTimeoutSeconds: 1,
      deadLetterQueue: { maxReceiveCount: 10 },
    })
    const jobs = [
      ['g1', 'm1'],
      ['g2', 'n1'],
      ['g1', 'm2'],
      ['g2', 'poison'],
      ['g1', 'm3'],
      ['g2', 'n2'],
      ['g1', 'm4'],
    ] as const
    const entries = []
    for (const [i, [group, job]] of jobs.entries()) {
      const sealed = job === 'poison' ? { body: 'not json', messageAttributes: {} } : await sealer.seal(job)
      entries.push({
        Id: String(i),
        MessageBody: sealed.body,
        MessageAttributes: sealed.messageAttributes,
        MessageGroupId: group,
        MessageDeduplicationId: `${job}-${i}`,
      })
    }
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.queueUrl, Entries: entries }))

    const done: string[] = []
    const attempts: string[] = []
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      pollers: 1,
      waitTimeSeconds: 1,
      handleMessage: async (job, { receiveCount }) => {
        attempts.push(job)
        await new Promise((resolve) => setTimeout(resolve, 20))
        if (job === 'm2' && receiveCount === 1) throw new Error('m2 fails once')
        done.push(job)
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => done.length === 6, 30_000, 'all six jobs handled')
    await consumer.stop()
    expect(done.filter((j) => j.startsWith('m'))).toEqual(['m1', 'm2', 'm3', 'm4'])
    expect(done.filter((j) => j.startsWith('n'))).toEqual(['n1', 'n2'])
    // m3 and m4 were not tried before m2 succeeded.
    expect(attempts.indexOf('m3')).toBeGreaterThan(attempts.lastIndexOf('m2'))
    expect(events.message_quarantined?.[0]?.[0]).toMatchObject({ code: 'BODY_NOT_JSON', moved: true })
    const [moved] = await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string, 1)
    expect(moved?.Body).toBe('not json')
    expect(moved?.Attributes?.MessageGroupId).toBe('g2')
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 60_000)
})
