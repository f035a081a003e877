// Issue 23 item 6: a detached (straggler) job's heartbeat counts from its receipt, so its
// visibility never lapses while it runs; and the timing that let it lapse is refused up front.
import type { SQSClient } from '@aws-sdk/client-sqs'
import { EnvelopeConsumer } from '@sqs-envelope/consumer'
import { EnvelopeSealer, isSqsEnvelopeError } from '@sqs-envelope/core'
import { createTestQueue } from '@sqs-envelope/testing'
import { describe, expect, it } from 'vitest'
import { queueDepth, recordEvents, sealedToRaw, sendRaw, waitFor } from './consumer-support.ts'
import { localstackWithKey } from './support.ts'

const fixture = localstackWithKey()

/** The real client, recording when each ChangeMessageVisibilityBatch went out. */
function recordingVisibility(sqs: SQSClient): { client: SQSClient; renewals: number[] } {
  const renewals: number[] = []
  const client = new Proxy(sqs, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver)
      return (command: { constructor: { name: string } }, options?: unknown) => {
        if (command.constructor.name === 'ChangeMessageVisibilityBatchCommand') renewals.push(performance.now())
        return target.send(command as never, options as never)
      }
    },
  })
  return { client, renewals }
}

describe('EnvelopeConsumer: heartbeats of detached jobs', () => {
  it('visibility 4 s, heartbeat 3 s, 6 jobs of 6.5 s detached at 0.9 s: each handled exactly once, renewed from receipt', async () => {
    const queue = await createTestQueue(fixture.sqs, { prefix: 'consumer-heartbeat', visibilityTimeoutSeconds: 4 })
    const sealer = new EnvelopeSealer({ kms: fixture.kms, kmsKeyId: fixture.key.keyId })
    const sealed = []
    for (let i = 0; i < 6; i++) sealed.push(sealedToRaw(await sealer.seal(`slow-${i}`)))
    await sealer.close()
    await sendRaw(fixture.sqs, queue.queueUrl, sealed)

    const { client, renewals } = recordingVisibility(fixture.sqs)
    const runs = new Map<string, number>()
    let firstStart: number | undefined
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs: client,
      kms: fixture.kms,
      pollers: 2,
      waitTimeSeconds: 1,
      visibilityTimeout: 4,
      heartbeatInterval: 3,
      stragglerAfterMs: 900,
      handleMessage: async (job) => {
        firstStart ??= performance.now()
        runs.set(job, (runs.get(job) ?? 0) + 1)
        await new Promise((resolve) => setTimeout(resolve, 6500))
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => (events.message_processed?.length ?? 0) >= 6, 40_000, 'six slow jobs processed')
    // Past another visibility timeout: a lapsed job would have been delivered again by now.
    await new Promise((resolve) => setTimeout(resolve, 4500))
    await consumer.stop({ timeoutMs: 10_000 })
    expect([...runs.values()]).toEqual([1, 1, 1, 1, 1, 1])
    expect(events.message_processed).toHaveLength(6)
    // The first renewal came about one heartbeat after receipt (a detach-based one would come at ~3.9 s).
    const first = (renewals[0] ?? Number.POSITIVE_INFINITY) - (firstStart ?? 0)
    console.info(`[consumer-heartbeat] first renewal ${first.toFixed(0)} ms after the first handler started`)
    expect(first).toBeLessThan(3500)
    expect(await queueDepth(fixture.sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 60_000)

  it('the timing that let visibility lapse (stragglerAfterMs 2500 + heartbeat 3 s ≥ visibility 4 s) is refused: OPTION_INVALID', () => {
    let error: unknown
    try {
      new EnvelopeConsumer({
        queueUrl: 'http://127.0.0.1:4566/000000000000/never-used',
        sqs: fixture.sqs,
        kms: fixture.kms,
        visibilityTimeout: 4,
        heartbeatInterval: 3,
        stragglerAfterMs: 2500,
        handleMessage: () => {},
      })
    } catch (caught) {
      error = caught
    }
    expect(isSqsEnvelopeError(error) && error.code).toBe('OPTION_INVALID')
    expect((error as Error).message).toMatch(
      /stragglerAfterMs.*heartbeatInterval 3, visibilityTimeout 4.*received 2500/,
    )
  })
})
