import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import {
  CONSUMER_DIAGNOSTICS_CHANNEL,
  type ConsumerDiagnostic,
  EnvelopeConsumer,
  type MessageContext,
} from '@sqs-envelope/consumer'
import { createKmsClient } from '@sqs-envelope/testing'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { queueDepth, receiveAll, recordEvents, sealedToRaw, sealJobs, sendRaw, waitFor } from './consumer-support.ts'
import { countKmsCalls, localstackFixture } from './support.ts'

const fixture = localstackFixture({ keys: 1 })
const { target, sqs, kms, newQueue, newSealer } = fixture

describe('EnvelopeConsumer: opening before handling', () => {
  it('2,000 jobs through 4 pollers: each handled once, all deleted, more than 10 in flight, one Decrypt per data key', async () => {
    const queue = await newQueue({ prefix: 'consumer-2k' })
    const sealer = newSealer({ maxMessagesPerDataKey: 100 })
    const total = 2000
    const sealed = await sealJobs(sealer, total, 50)
    expect(sealer.metrics().generateDataKeyCalls).toBe(total / 100)
    await sendRaw(sqs, queue.queueUrl, sealed)

    const consumerKms = createKmsClient(target)
    const kmsCalls = countKmsCalls(consumerKms)
    const handled = new Map<string, number>()
    let running = 0
    let maxRunning = 0
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms: consumerKms,
      pollers: 4,
      waitTimeSeconds: 1,
      handleMessage: async (job) => {
        running++
        maxRunning = Math.max(maxRunning, running)
        await new Promise((resolve) => setTimeout(resolve, 20))
        handled.set(job, (handled.get(job) ?? 0) + 1)
        running--
      },
    })
    const events = recordEvents(consumer)
    const diagnosed: Record<string, number> = {}
    const onDiagnostic = (message: unknown) => {
      const { event, count } = message as ConsumerDiagnostic
      diagnosed[event] = (diagnosed[event] ?? 0) + count
    }
    subscribe(CONSUMER_DIAGNOSTICS_CHANNEL, onDiagnostic)
    consumer.start()
    await waitFor(() => (events.message_processed?.length ?? 0) >= total, 120_000, 'all jobs processed')
    await consumer.stop()
    unsubscribe(CONSUMER_DIAGNOSTICS_CHANNEL, onDiagnostic)
    expect(diagnosed).toEqual({ received: total, processed: total })
    const metrics = consumer.metrics()
    console.info(
      `[consumer-2k] max in flight ${metrics.maxInFlight}, max handlers running ${maxRunning}, Decrypt calls ${kmsCalls.DecryptCommand ?? 0} for ${total / 100} data keys, cache hit ratio ${metrics.cacheHitRatio.toFixed(3)}`,
    )
    expect(handled.size).toBe(total)
    expect([...handled.values()].every((count) => count === 1)).toBe(true)
    expect(metrics).toMatchObject({ received: total, processed: total, failed: 0, quarantined: 0, inFlight: 0 })
    expect(metrics.maxInFlight).toBeGreaterThan(10)
    expect(maxRunning).toBeGreaterThan(10)
    expect(kmsCalls.DecryptCommand).toBe(total / 100)
    expect(metrics.kmsDecryptCalls).toBe(total / 100)
    expect(events.error).toEqual([])
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    consumerKms.destroy()
    await queue.delete()
  }, 180_000)

  it('a JSON job with an encryption context opens through the runner (the attribute trap is closed)', async () => {
    const queue = await newQueue({ prefix: 'consumer-json' })
    const context = { queue: queue.queueArn, tenant: 'acme' }
    const sealer = newSealer({ encryptionContext: context, contentType: 'json' })
    await sendRaw(sqs, queue.queueUrl, [sealedToRaw(await sealer.seal({ orderId: 42, items: ['a', 'b'] }))])
    const seen: Array<{ job: { orderId: number; items: string[] }; context: MessageContext }> = []
    const consumer = new EnvelopeConsumer<{ orderId: number; items: string[] }>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      requiredEncryptionContext: { queue: queue.queueArn },
      waitTimeSeconds: 1,
      handleMessage: (job, ctx) => {
        expectTypeOf(job).toEqualTypeOf<{ orderId: number; items: string[] }>()
        seen.push({ job, context: ctx })
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => (events.message_processed?.length ?? 0) === 1, 20_000, 'the job processed')
    await consumer.stop()
    expect(seen).toHaveLength(1)
    expect(seen[0]?.job).toEqual({ orderId: 42, items: ['a', 'b'] })
    expect(seen[0]?.context).toMatchObject({
      contentType: 'json',
      encryptionContext: context,
      kmsKeyArn: fixture.key.keyArn,
      queueUrl: queue.queueUrl,
      receiveCount: 1,
    })
    expect(seen[0]?.context.signal).toBeInstanceOf(AbortSignal)
    expect(events.message_quarantined).toEqual([])
    // Events carry ids, never the payload.
    expect(JSON.stringify(events)).not.toMatch(/orderId|"items"/)
    expect(JSON.stringify(consumer)).not.toMatch(/orderId/)
    await queue.delete()
  }, 60_000)
})

describe('EnvelopeConsumer: stop', () => {
  it('stop() during a 20-second long poll resolves well under a second; the messages that poll would have brought stay in the queue', async () => {
    const queue = await newQueue({ prefix: 'consumer-stop', visibilityTimeoutSeconds: 1 })
    let calls = 0
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      pollers: 2,
      waitTimeSeconds: 20,
      handleMessage: () => {
        calls++
      },
    })
    consumer.start()
    await waitFor(() => consumer.status.isPolling, 5_000, 'a long poll in progress')
    await new Promise((resolve) => setTimeout(resolve, 500))
    const started = performance.now()
    await consumer.stop()
    const stopMs = performance.now() - started
    console.info(`[consumer-stop] stop() during a 20 s long poll took ${stopMs.toFixed(1)} ms`)
    expect(stopMs).toBeLessThan(1000)
    expect(consumer.status).toMatchObject({ isRunning: false, state: 'stopped' })

    const sealer = newSealer()
    await sendRaw(sqs, queue.queueUrl, [sealedToRaw(await sealer.seal('a')), sealedToRaw(await sealer.seal('b'))])
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(2)
    // The server side of an aborted long poll may still take messages until its 20 s are up (they then
    // stay in the queue, invisible for the visibility timeout): wait for both to be receivable again.
    const back: unknown[] = []
    await waitFor(
      async () => {
        back.push(...(await receiveAll(sqs, queue.queueUrl)))
        return back.length >= 2
      },
      30_000,
      'both messages back in the queue',
    )
    expect(back).toHaveLength(2)
    expect(calls).toBe(0)
    expect(consumer.metrics().received).toBe(0)
    await queue.delete()
  }, 60_000)

  it('a receive that answers after stop() was called hands its messages back at once; no handler sees them', async () => {
    const queue = await newQueue({ prefix: 'consumer-late', visibilityTimeoutSeconds: 60 })
    const sealer = newSealer()
    await sendRaw(sqs, queue.queueUrl, [
      sealedToRaw(await sealer.seal('late-1')),
      sealedToRaw(await sealer.seal('late-2')),
    ])
    // The real client, with ReceiveMessage answers held back until the test lets them through.
    let receivedLate: (() => void) | undefined
    const gate = new Promise<void>((resolve) => {
      receivedLate = resolve
    })
    let heldAnswers = 0
    const lateSqs = new Proxy(sqs, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver)
        return async (command: { constructor: { name: string } }, options?: unknown) => {
          const output = await target.send(command as never, options as never)
          if (
            command.constructor.name === 'ReceiveMessageCommand' &&
            (output as { Messages?: unknown[] }).Messages?.length
          ) {
            heldAnswers++
            await gate
          }
          return output
        }
      },
    })
    let calls = 0
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs: lateSqs,
      kms,
      pollers: 1,
      waitTimeSeconds: 1,
      handleMessage: () => {
        calls++
      },
    })
    consumer.start()
    await waitFor(() => heldAnswers === 1, 10_000, 'a receive with messages, held back')
    const stopped = consumer.stop()
    receivedLate?.()
    await stopped
    expect(calls).toBe(0)
    expect(consumer.metrics().received).toBe(0)
    // Released with visibility 0: receivable now, not after the queue's 60 s.
    expect(await receiveAll(sqs, queue.queueUrl, 2)).toHaveLength(2)
    await queue.delete()
  }, 30_000)
})
