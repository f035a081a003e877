import { EnableKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import { SQSClient } from '@aws-sdk/client-sqs'
import { EnvelopeConsumer, type QuarantineEvent } from '@sqs-envelope/consumer'
import { describe, expect, it } from 'vitest'
import {
  loopbackProxy,
  queueDepth,
  receiveAll,
  recordEvents,
  sealedToRaw,
  sealJobs,
  sendRaw,
  waitFor,
} from './consumer-support.ts'
import { localstackFixture } from './support.ts'

const { target, sqs, kms, newQueueWithKey } = localstackFixture()

describe('EnvelopeConsumer: KMS trouble', () => {
  it('KMS unreachable for a while (a loopback proxy cut): nothing quarantined, everything handled after recovery', async () => {
    const { queue, sealer } = await newQueueWithKey(
      { prefix: 'consumer-kms-down', deadLetterQueue: { maxReceiveCount: 100 } },
      { reuse: false },
    )
    const total = 30
    const jobs = await sealJobs(sealer, total)
    const proxy = await loopbackProxy(target.endpoint)
    proxy.down()
    const proxiedKms = new KMSClient({ ...target, endpoint: proxy.endpoint, maxAttempts: 1 })
    const handled = new Set<string>()
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms: proxiedKms,
      kmsMaxAttempts: 2,
      kmsRetryBaseDelayMs: 10,
      kmsRetryMaxDelayMs: 50,
      transientBackoff: { baseDelaySeconds: 1, maxDelaySeconds: 2 },
      waitTimeSeconds: 1,
      handleMessage: (job) => {
        handled.add(job)
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await sendRaw(sqs, queue.queueUrl, jobs)
    await waitFor(() => (events.transient_error?.length ?? 0) >= total, 30_000, 'every job failing transiently once')
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    expect(handled.size).toBe(0)
    proxy.up()
    await waitFor(() => handled.size === total, 60_000, 'every job handled after recovery')
    await consumer.stop()
    const transientCodes = new Set((events.transient_error ?? []).map(([error]) => (error as { code: string }).code))
    console.info(
      `[consumer-kms-down] transient retries ${consumer.metrics().transientRetries}, codes ${[...transientCodes].join(',')}`,
    )
    expect([...transientCodes]).toEqual(['KMS_UNAVAILABLE'])
    // The backoff follows the receive count SQS reports (requested although sqs-consumer asks for none by default).
    expect((events.transient_error ?? []).some(([, e]) => (e as { receiveCount: number }).receiveCount >= 2)).toBe(true)
    expect(events.message_quarantined).toEqual([])
    expect(consumer.metrics()).toMatchObject({ processed: total, quarantined: 0, inFlight: 0 })
    expect(await queueDepth(sqs, queue.deadLetterQueue?.queueUrl as string)).toBe(0)
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    proxiedKms.destroy()
    await proxy.close()
    await queue.delete()
  }, 120_000)

  it('the KMS key disabled mid-run, then enabled: at most breakerThreshold (3) quarantined, all the rest handled', async () => {
    const { key, queue, sealer } = await newQueueWithKey(
      { prefix: 'consumer-breaker', deadLetterQueue: { maxReceiveCount: 100 } },
      { reuse: false },
    )
    const dlq = queue.deadLetterQueue?.queueUrl as string
    const before = 10
    const after = 30
    const sealed = await sealJobs(sealer, before + after)
    const logged: Array<[string, string, unknown]> = []
    const logger = {
      debug: (message: string, details?: unknown) => logged.push(['debug', message, details]),
      warn: (message: string, details?: unknown) => logged.push(['warn', message, details]),
      error: (message: string, details?: unknown) => logged.push(['error', message, details]),
    }
    const handled = new Set<string>()
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      logger,
      breakerThreshold: 3,
      breakerProbeBaseDelayMs: 500,
      breakerProbeMaxDelayMs: 2_000,
      transientBackoff: { baseDelaySeconds: 1, maxDelaySeconds: 2 },
      waitTimeSeconds: 1,
      handleMessage: (job) => {
        handled.add(job)
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await sendRaw(sqs, queue.queueUrl, sealed.slice(0, before))
    await waitFor(() => handled.size === before, 20_000, 'the jobs sent before the key was disabled')
    await key.disable()
    // Each of these has its own data key, not in the consumer's cache: every open needs KMS.
    await sendRaw(sqs, queue.queueUrl, sealed.slice(before))
    await waitFor(() => (events.breaker_opened?.length ?? 0) >= 1, 20_000, 'the breaker to open')
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    const quarantinedWhileDisabled = consumer.metrics().quarantined
    expect(consumer.status.breaker).not.toBe('closed')
    await kms.send(new EnableKeyCommand({ KeyId: key.keyId }))
    await waitFor(
      () => handled.size + (events.message_quarantined?.length ?? 0) === before + after,
      60_000,
      'every job handled or quarantined after the key came back',
    )
    await consumer.stop()
    const quarantined = (events.message_quarantined ?? []).map(([e]) => e as QuarantineEvent)
    console.info(
      `[consumer-breaker] quarantined ${quarantined.length} (${quarantinedWhileDisabled} while disabled), handled ${handled.size}, breaker opened ${events.breaker_opened?.length}×, closed ${events.breaker_closed?.length}×`,
    )
    expect(quarantined.length).toBeLessThanOrEqual(3)
    expect(quarantined.every((e) => e.code === 'KMS_KEY_DISABLED' && e.moved)).toBe(true)
    expect(handled.size).toBe(before + after - quarantined.length)
    expect(events.breaker_closed?.length).toBeGreaterThanOrEqual(1)
    expect((events.error ?? []).some(([error]) => (error as { code?: string }).code === 'KMS_BREAKER_OPEN')).toBe(true)
    expect(await receiveAll(sqs, dlq, quarantined.length)).toHaveLength(quarantined.length)
    expect(logged.filter(([, m]) => m.includes('quarantined'))).toHaveLength(quarantined.length)
    expect(logged.some(([level, m]) => level === 'error' && m.includes('breaker opened'))).toBe(true)
    // Log lines name codes and ids, never a payload (the jobs are "job-<n>").
    expect(JSON.stringify(logged)).not.toContain('job-')
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await queue.delete()
  }, 120_000)
})

describe('EnvelopeConsumer: SQS trouble', () => {
  it('SQS unreachable at start (a loopback proxy cut): receive errors reported, polling backs off and recovers by itself', async () => {
    const { queue, sealer } = await newQueueWithKey({ prefix: 'consumer-sqs-down' })
    await sendRaw(sqs, queue.queueUrl, [sealedToRaw(await sealer.seal('a')), sealedToRaw(await sealer.seal('b'))])
    const proxy = await loopbackProxy(target.endpoint)
    proxy.down()
    const proxiedSqs = new SQSClient({ ...target, endpoint: proxy.endpoint, maxAttempts: 1 })
    const handled: string[] = []
    const consumer = new EnvelopeConsumer<string>({
      // The queue URL names LocalStack; the client's endpoint (the proxy) is where requests go.
      queueUrl: queue.queueUrl,
      sqs: proxiedSqs,
      kms,
      pollers: 2,
      waitTimeSeconds: 1,
      handleMessage: (job) => {
        handled.push(job)
      },
    })
    const events = recordEvents(consumer)
    consumer.start()
    await waitFor(() => (events.error?.length ?? 0) >= 4, 20_000, 'receive errors while SQS is unreachable')
    expect(handled).toEqual([])
    proxy.up()
    await waitFor(() => handled.length === 2, 40_000, 'both jobs handled after SQS came back')
    await consumer.stop()
    expect(handled.sort()).toEqual(['a', 'b'])
    expect(consumer.status.state).toBe('stopped')
    proxiedSqs.destroy()
    await proxy.close()
    await queue.delete()
  }, 90_000)
})
