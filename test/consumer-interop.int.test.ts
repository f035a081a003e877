import { EnvelopeConsumer } from '@sqs-envelope/consumer'
import { describe, expect, it } from 'vitest'
import { queueDepth, recordEvents, waitFor } from './consumer-support.ts'
import { recipePython, runRecipe } from './interop/python.ts'
import { localstackFixture } from './support.ts'

// The first run builds the recipe's virtualenv (boto3 + cryptography from PyPI).
const fixture = localstackFixture({ keys: 1, prepare: recipePython })
const { target, sqs, kms, newQueue } = fixture

describe('EnvelopeConsumer and the original Python recipe', () => {
  it('jobs the Python recipe sends (no attributes: plain v1 text) are handled by the runner', async () => {
    const queue = await newQueue({ prefix: 'consumer-python' })
    const payloads = ['from python 1', 'from python ✓ 2']
    for (const p of payloads) {
      await runRecipe(
        [
          'send',
          '--endpoint',
          target.endpoint,
          '--region',
          target.region,
          '--queue-url',
          queue.queueUrl,
          '--key-id',
          fixture.key.keyId,
        ],
        Buffer.from(p),
      )
    }
    const handled: Array<[string, string]> = []
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      allowedKmsKeyArns: [fixture.key.keyArn],
      waitTimeSeconds: 1,
      handleMessage: (job, ctx) => {
        handled.push([job, ctx.contentType])
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => handled.length === payloads.length, 20_000, 'the Python jobs handled')
    await consumer.stop()
    expect(handled.sort()).toEqual(payloads.map((p) => [p, 'text']).sort())
    expect(events.message_quarantined).toEqual([])
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 120_000)
})
