import type { KMSClient } from '@aws-sdk/client-kms'
import type { SQSClient } from '@aws-sdk/client-sqs'
import { EnvelopeConsumer, type QuarantineEvent } from '@sqs-envelope/consumer'
import { EnvelopeSealer } from '@sqs-envelope/core'
import { createTestKey, createTestQueue } from '@sqs-envelope/testing'
import { queueDepth, receiveAll, recordEvents, sealJobs, sendRaw, startTrickle, waitFor } from '../consumer-support.ts'

export interface HostileSenderScenario {
  /** Good jobs, sent 10 every `goodBatchEveryMs`. */
  readonly good: number
  readonly goodBatchEveryMs: number
  /** A bad message (sealed under a key disabled before it is sent) every this many ms, until every good job is handled. */
  readonly badEveryMs: number
  /** Longest time for every good job to be handled, from the first send, in ms. */
  readonly goodBoundMs: number
  /**
   * Longest time, after the bad sender stopped, for all its messages to be quarantined, in ms. Meanwhile one
   * more good job is sent every `trickleEveryMs`: a bad message is quarantined on evidence (an open since its
   * data key first failed), and with no traffic at all there is none.
   */
  readonly quarantineBoundMs: number
  readonly trickleEveryMs: number
}

export interface HostileSenderFigures {
  readonly good: number
  /** Good jobs of the trickle after the bad sender stopped. */
  readonly trickle: number
  readonly handled: number
  readonly goodQuarantined: number
  readonly badSent: number
  readonly badQuarantined: number
  readonly badIdenticalInDlq: number
  /** From the first send until every one of `good` was handled; undefined if not within the bound. */
  readonly goodHandledMs: number | undefined
  /** From the bad sender's stop until all its messages were quarantined; undefined if not within the bound. */
  readonly badQuarantinedMs: number | undefined
  readonly breakerOpened: number
  readonly breakerClosed: number
  readonly transientRetries: number
  readonly stillQueued: number
  readonly quarantineCodes: readonly string[]
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Ms until `condition` held, or undefined when it did not within `timeoutMs`. */
async function timeUntil(condition: () => boolean, timeoutMs: number): Promise<number | undefined> {
  const start = Date.now()
  try {
    await waitFor(condition, timeoutMs, 'the scenario')
    return Date.now() - start
  } catch {
    return undefined
  }
}

/**
 * Issue 23 item 2: a sender mixes one message per `badEveryMs` whose KMS key it disabled (each with its own
 * data key, so every one needs a Decrypt and first fails with no evidence) among good jobs of another key, to a
 * consumer with no allowlist and the default breaker and backoff. Good jobs are sealed with data-key reuse
 * (one producer: its repeats are cache hits). The bad sender goes on until every good job is handled.
 */
export async function runHostileSender(
  sqs: SQSClient,
  kms: KMSClient,
  scenario: HostileSenderScenario,
): Promise<HostileSenderFigures> {
  const goodKey = await createTestKey(kms)
  const badKey = await createTestKey(kms)
  const queue = await createTestQueue(sqs, { prefix: 'hostile-sender', deadLetterQueue: { maxReceiveCount: 1000 } })
  const dlq = queue.deadLetterQueue?.queueUrl as string
  const goodSealer = new EnvelopeSealer({ kms, kmsKeyId: goodKey.keyId })
  const badSealer = new EnvelopeSealer({ kms, kmsKeyId: badKey.keyId, reuse: false })
  const reserve = Math.ceil(scenario.quarantineBoundMs / scenario.trickleEveryMs)
  const good = await sealJobs(goodSealer, scenario.good + reserve)
  // Enough bad messages for the whole bound, sealed while the key still works.
  const bad = await sealJobs(badSealer, Math.ceil(scenario.goodBoundMs / scenario.badEveryMs))
  goodSealer.close()
  badSealer.close()
  await badKey.disable()

  const handled = new Set<string>()
  const consumer = new EnvelopeConsumer<string>({
    queueUrl: queue.queueUrl,
    sqs,
    kms,
    waitTimeSeconds: 1,
    handleMessage: (job) => {
      handled.add(job)
    },
  })
  const events = recordEvents(consumer)
  const quarantined = () => (events.message_quarantined ?? []).length
  consumer.start()
  const badSender = startTrickle(sqs, queue.queueUrl, bad, scenario.badEveryMs)
  const started = Date.now()
  for (let i = 0; i < scenario.good; i += 10) {
    await sendRaw(sqs, queue.queueUrl, good.slice(i, Math.min(i + 10, scenario.good)))
    await sleep(scenario.goodBatchEveryMs)
  }
  const rest = await timeUntil(() => handled.size >= scenario.good, scenario.goodBoundMs - (Date.now() - started))
  const goodHandledMs = rest === undefined ? undefined : Date.now() - started
  const badSent = await badSender.stop()
  const trickler = startTrickle(sqs, queue.queueUrl, good.slice(scenario.good), scenario.trickleEveryMs)
  const badQuarantinedMs = await timeUntil(() => quarantined() >= badSent, scenario.quarantineBoundMs)
  const trickle = await trickler.stop()
  await timeUntil(() => handled.size >= scenario.good + trickle, 20_000)
  await consumer.stop()

  const quarantineEvents = (events.message_quarantined ?? []).map(([e]) => e as QuarantineEvent)
  const copies = await receiveAll(sqs, dlq, quarantineEvents.length)
  const badBodies = new Set(bad.slice(0, badSent).map((m) => m.body))
  const goodBodies = new Set(good.map((m) => m.body))
  const figures: HostileSenderFigures = {
    good: scenario.good,
    trickle,
    handled: handled.size,
    goodQuarantined: copies.filter((m) => goodBodies.has(m.Body ?? '')).length,
    badSent,
    badQuarantined: quarantineEvents.filter((e) => e.moved).length,
    badIdenticalInDlq: new Set(copies.filter((m) => badBodies.has(m.Body ?? '')).map((m) => m.Body)).size,
    goodHandledMs,
    badQuarantinedMs,
    breakerOpened: (events.breaker_opened ?? []).length,
    breakerClosed: (events.breaker_closed ?? []).length,
    transientRetries: consumer.metrics().transientRetries,
    stillQueued: await queueDepth(sqs, queue.queueUrl),
    quarantineCodes: [...new Set(quarantineEvents.map((e) => e.code))],
  }
  await queue.delete()
  return figures
}
