import { EnvelopeConsumer, type QuarantineEvent } from '@sqs-envelope/consumer'
import { EnvelopeSealer } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import { queueDepth, recordEvents, sealJobs, sendRaw, waitFor } from './consumer-support.ts'
import { runHostileSender } from './reliability/hostile-sender.ts'
import { localstackFixture } from './support.ts'

// Issue 23 items 1 and 2: the breaker's rule (see KmsBreaker) against LocalStack, with counts of good jobs.

const { sqs, kms, newKey, newQueue } = localstackFixture()

interface Misconfiguration {
  readonly title: string
  /** One data key for every job (one producer), or one each. */
  readonly reuse: boolean
  readonly worker: (keyArn: string, otherArns: readonly string[]) => Record<string, unknown>
  readonly code: string
}

const JOBS = 50

const misconfigurations: readonly Misconfiguration[] = [
  {
    title: 'allowedKmsKeyArns wrong (one ARN), every job under one data key',
    reuse: true,
    worker: (_, others) => ({ allowedKmsKeyArns: others.slice(0, 1) }),
    // With one ARN the opener names it in Decrypt (KeyId), so KMS itself refuses: IncorrectKeyException.
    code: 'KMS_INCORRECT_KEY',
  },
  {
    title: 'allowedKmsKeyArns wrong (two ARNs), a data key per job',
    reuse: false,
    worker: (_, others) => ({ allowedKmsKeyArns: others }),
    code: 'KMS_KEY_NOT_ALLOWED',
  },
  {
    title: 'requiredEncryptionContext wrong, every job under one data key',
    reuse: true,
    worker: () => ({ requiredEncryptionContext: { tenant: 'other' } }),
    code: 'CONTEXT_MISMATCH',
  },
  {
    title: 'requiredEncryptionContext wrong, a data key per job',
    reuse: false,
    worker: () => ({ requiredEncryptionContext: { tenant: 'other' } }),
    code: 'CONTEXT_MISMATCH',
  },
]

describe('EnvelopeConsumer breaker: a misconfigured worker never quarantines a queue of good jobs', () => {
  for (const m of misconfigurations) {
    it(`${m.title}: 0 of ${JOBS} good jobs quarantined, breaker opened, every job still in the queue`, async () => {
      const [key, one, two] = await Promise.all([newKey(), newKey(), newKey()])
      const others = [one.keyArn, two.keyArn]
      const queue = await newQueue({
        prefix: 'breaker-misconfig',
        deadLetterQueue: { maxReceiveCount: 100 },
      })
      const sealer = new EnvelopeSealer({
        kms,
        kmsKeyId: key.keyId,
        reuse: m.reuse,
        encryptionContext: { tenant: 'ours' },
      })
      await sendRaw(sqs, queue.queueUrl, await sealJobs(sealer, JOBS))
      sealer.close()
      const handled: string[] = []
      const consumer = new EnvelopeConsumer<string>({
        queueUrl: queue.queueUrl,
        sqs,
        kms,
        ...m.worker(key.keyArn, others),
        breakerProbeBaseDelayMs: 500,
        breakerProbeMaxDelayMs: 1_000,
        transientBackoff: { baseDelaySeconds: 1, maxDelaySeconds: 2 },
        waitTimeSeconds: 1,
        handleMessage: (job) => {
          handled.push(job)
        },
      })
      const events = recordEvents(consumer)
      consumer.start()
      await waitFor(() => (events.breaker_opened?.length ?? 0) >= 1, 20_000, 'the breaker to open')
      // Long enough for probes and for the jobs retried before the breaker opened to come back (backoff ≤ 2 s):
      // a second failure of a data key must still find no evidence.
      await waitFor(() => consumer.metrics().received >= JOBS + 10, 20_000, 'redeliveries after the breaker opened')
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      await consumer.stop()
      const codes = new Set((events.transient_error ?? []).map(([error]) => (error as { code: string }).code))
      const quarantined = (events.message_quarantined ?? []).map(([e]) => e as QuarantineEvent)
      console.info(
        `[consumer-breaker] ${m.title}: received ${consumer.metrics().received}, quarantined ${quarantined.length}, handled ${handled.length}, breaker opened ${events.breaker_opened?.length}×, codes ${[...codes].join(',')}`,
      )
      expect(quarantined).toHaveLength(0)
      expect(consumer.metrics().quarantined).toBe(0)
      expect(handled).toHaveLength(0)
      expect([...codes]).toEqual([m.code])
      expect((events.error ?? []).some(([error]) => (error as { code?: string }).code === 'KMS_BREAKER_OPEN')).toBe(
        true,
      )
      expect(await queueDepth(sqs, queue.deadLetterQueue?.queueUrl as string)).toBe(0)
      expect(await queueDepth(sqs, queue.queueUrl)).toBe(JOBS)
    }, 90_000)
  }
})

describe('EnvelopeConsumer breaker: a hostile sender cannot stall the worker', () => {
  it('1 message per 200 ms sealed under a key then disabled (KMS DisableKey), mixed with 300 good jobs, no allowlist: every good job handled within 30 s, every bad one quarantined intact, none good', async () => {
    const figures = await runHostileSender(sqs, kms, {
      good: 300,
      badEveryMs: 200,
      goodBatchEveryMs: 100,
      goodBoundMs: 30_000,
      quarantineBoundMs: 30_000,
      trickleEveryMs: 250,
    })
    console.info(`[consumer-breaker] hostile sender ${JSON.stringify(figures)}`)
    expect(figures.goodHandledMs).toBeDefined()
    expect(figures.badQuarantinedMs).toBeDefined()
    expect(figures.handled).toBe(300 + figures.trickle)
    expect(figures.goodQuarantined).toBe(0)
    expect(figures.badSent).toBeGreaterThan(0)
    expect(figures.badQuarantined).toBe(figures.badSent)
    expect(figures.badIdenticalInDlq).toBe(figures.badSent)
    expect(figures.quarantineCodes).toEqual(['KMS_KEY_DISABLED'])
    expect(figures.stillQueued).toBe(0)
  }, 120_000)
})
