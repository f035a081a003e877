import { ATTRIBUTE_QUARANTINE_CODE, type ConsumerOptions, EnvelopeConsumer } from '@sqs-envelope/consumer'
import { EnvelopeSealer, isPermanentErrorCode, isTransientErrorCode } from '@sqs-envelope/core'
import {
  createKmsClient,
  createSqsClient,
  createTestKey,
  createTestQueue,
  type FaultProxy,
  startFaultProxy,
} from '@sqs-envelope/testing'
import { queueDepth, type RawMessage, receiveAll, sealedToRaw, sendRaw, waitFor } from '../consumer-support.ts'
import { captureDataKeys, localstack, mapLimit } from '../support.ts'
import { CHEAP_POISON_CODES, cheapPoison } from './corpus.ts'
import { findLeaks, Transcript } from './leaks.ts'

export interface FaultScenario {
  readonly name: string
  /** What is injected, for the report. */
  readonly injected: string
  readonly goodJobs: number
  readonly poisonJobs: number
  /** Injects the fault(s); resolves when they are over. Runs once a tenth of the good jobs are handled. */
  readonly fault: (proxy: FaultProxy) => Promise<void>
  /** Time allowed for everything to be handled after the fault ends, in ms. */
  readonly settleMs: number
  readonly consumer?: Partial<ConsumerOptions<string>>
}

export interface ScenarioFigures {
  readonly scenario: string
  readonly injected: string
  readonly sent: number
  readonly poison: number
  /** Distinct good jobs the handler completed during the faulted run. */
  readonly handled: number
  readonly handlerRuns: number
  /** Handler runs beyond the first, per job (at-least-once). */
  readonly duplicates: number
  /** Poison moved to the DLQ, byte-identical, with a permanent code. */
  readonly quarantined: number
  /** Copies in the DLQ (a poison message whose delete was lost is moved again: a duplicate copy). */
  readonly dlqCopies: number
  /** Good jobs in the DLQ, or quarantine events with a transient code: must be 0. */
  readonly quarantinedForTransientCause: number
  readonly transientRetries: number
  /** Messages left in the queue when the faulted run stopped; a clean consumer then drains them. */
  readonly stillQueued: number
  readonly drained: number
  /** sent − handled − drained − quarantined: must be 0. */
  readonly lost: number
  readonly leaks: readonly string[]
  readonly proxy: { readonly requests: number; readonly injected: Readonly<Record<string, number>> }
  /** Setup (sealing, sending) and the run up to the fault; the fault; from its end until everything was handled. */
  readonly openAtDeadline: { handled: number; quarantineEvents: number; inFlight: number } | undefined
  /** message_quarantined events seen (may be fewer than `quarantined` when a delete's answer was lost). */
  readonly quarantineEvents: number
  readonly timing: {
    readonly beforeFaultSeconds: number
    readonly faultSeconds: number
    readonly recoverySeconds: number
  }
  readonly seconds: number
}

/**
 * One fault scenario with its accounting. Good jobs (each its own data key, so that every open needs
 * KMS) and cheap poison go to a fresh queue; a consumer reaches SQS and KMS through a fault proxy;
 * the fault is injected mid-flow. Afterwards: every sent job is handled, quarantined for a permanent
 * cause or still queued (then drained by a clean consumer and counted); the run's transcript is
 * searched for the marker plaintext and the data keys.
 */
export async function runFaultScenario(spec: FaultScenario): Promise<ScenarioFigures> {
  const started = Date.now()
  const { target, sqs, kms } = localstack()
  const producerKeys = captureDataKeys(kms)
  const key = await createTestKey(kms)
  // High maxReceiveCount: retries during an outage must not be redriven (a transient cause).
  const queue = await createTestQueue(sqs, {
    prefix: `rel-${spec.name.replace(/\W+/g, '-')}`.slice(0, 40),
    deadLetterQueue: { maxReceiveCount: 1000 },
    // Short, so that a job whose delete was lost comes back (a duplicate) within the run.
    visibilityTimeoutSeconds: 5,
  })
  const dlq = queue.deadLetterQueue?.queueUrl as string
  const context = { queue: queue.queueArn }
  const marker = `MARKER-${spec.name}-${Math.random().toString(36).slice(2)}`
  const sealer = new EnvelopeSealer({ kms, kmsKeyId: key.keyId, encryptionContext: context, reuse: false })
  const { results: good } = await mapLimit(
    Array.from({ length: spec.goodJobs }, (_, i) => i),
    16,
    async (i) => sealedToRaw(await sealer.seal(`${marker}:${i}`)),
  )
  const reusing = new EnvelopeSealer({ kms, kmsKeyId: key.keyId, encryptionContext: context })
  const poison: RawMessage[] = []
  for (let i = 0; i < spec.poisonJobs; i++) poison.push(cheapPoison(sealedToRaw(await reusing.seal(`p${i}`)), i))
  const mixed: RawMessage[] = []
  for (let i = 0, p = 0; i < good.length || p < poison.length; i++) {
    if (i < good.length) mixed.push(good[i] as RawMessage)
    if (p < poison.length && (i % 10 === 9 || i >= good.length)) mixed.push(poison[p++] as RawMessage)
  }
  await sendRaw(sqs, queue.queueUrl, mixed)

  const proxy = await startFaultProxy({ upstream: target.endpoint, lifetimeMs: 900_000 })
  const viaProxy = { ...target, endpoint: proxy.endpoint }
  const consumerSqs = createSqsClient(viaProxy)
  const consumerKms = createKmsClient(viaProxy)
  const consumerKeys = captureDataKeys(consumerKms)
  const transcript = new Transcript()
  transcript.listenDiagnostics()
  const runs = new Map<number, number>()
  let quarantineEvents = 0
  let transientCauseQuarantines = 0
  const consumer = new EnvelopeConsumer<string>({
    queueUrl: queue.queueUrl,
    sqs: consumerSqs,
    kms: consumerKms,
    allowedKmsKeyArns: [key.keyArn],
    requiredEncryptionContext: context,
    waitTimeSeconds: 1,
    transientBackoff: { baseDelaySeconds: 1, maxDelaySeconds: 5 },
    logger: transcript.logger,
    ...spec.consumer,
    handleMessage: async (job) => {
      const i = Number(job.slice(marker.length + 1))
      await new Promise((resolve) => setTimeout(resolve, 2))
      runs.set(i, (runs.get(i) ?? 0) + 1)
    },
  })
  transcript.watch(consumer)
  consumer.on('message_quarantined', (event) => {
    quarantineEvents++
    if (!isPermanentErrorCode(event.code)) transientCauseQuarantines++
  })
  const transientCodes = new Set<string>()
  consumer.on('transient_error', (error) => transientCodes.add(error.code))

  consumer.start()
  await waitFor(() => runs.size >= Math.ceil(spec.goodJobs / 10), 60_000, 'a tenth of the jobs handled')
  const faultStarted = Date.now()
  await spec.fault(proxy)
  const faultEnded = Date.now()
  // Done when every good job ran and the poison is accounted for: by its events, or (a move whose
  // delete answer was lost reports no event) by an empty source queue.
  const done = async () =>
    runs.size === spec.goodJobs &&
    (quarantineEvents >= spec.poisonJobs || (await queueDepth(sqs, queue.queueUrl)) === 0)
  const settledInTime = await waitFor(done, spec.settleMs, 'every job handled or quarantined after the fault').then(
    () => true,
    () => false,
  )
  const settled = Date.now()
  // What was still open when the wait ran out (then stop() and the drain finish it).
  const openAtDeadline = settledInTime
    ? undefined
    : { handled: runs.size, quarantineEvents, inFlight: consumer.metrics().inFlight }
  await consumer.stop({ timeoutMs: 10_000 })
  transcript.add(consumer.metrics())
  const metrics = consumer.metrics()
  transcript.close()
  const proxyStats = proxy.stats()
  await proxy.close()
  consumerSqs.destroy()
  consumerKms.destroy()

  // Whatever is left is drained by a clean consumer (no faults) and counted as still queued.
  const stillQueued = await queueDepth(sqs, queue.queueUrl)
  const drainedJobs = new Set<number>()
  if (stillQueued > 0) {
    const drain = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      allowedKmsKeyArns: [key.keyArn],
      requiredEncryptionContext: context,
      waitTimeSeconds: 1,
      handleMessage: (job) => {
        drainedJobs.add(Number(job.slice(marker.length + 1)))
      },
    })
    drain.on('message_quarantined', () => quarantineEvents++)
    drain.start()
    await waitFor(async () => (await queueDepth(sqs, queue.queueUrl)) === 0, 60_000, 'the queue drained').catch(
      () => undefined,
    )
    await drain.stop()
  }

  // Everything in the DLQ: a poison message quarantined twice (its delete lost to a fault) is there twice.
  const moved = await receiveAll(sqs, dlq)
  const poisonBodies = new Set(poison.map((p) => p.body))
  const goodBodies = new Set(good.map((g) => g.body))
  const quarantined = new Set(
    moved
      .filter((m) => poisonBodies.has(m.Body as string))
      .filter((m) => CHEAP_POISON_CODES.includes(m.MessageAttributes?.[ATTRIBUTE_QUARANTINE_CODE]?.StringValue ?? ''))
      .map((m) => m.Body),
  ).size
  const goodInDlq = moved.filter((m) => goodBodies.has(m.Body as string)).length
  const handled = new Set([...runs.keys(), ...drainedJobs])
  const handlerRuns = [...runs.values()].reduce((a, b) => a + b, 0)
  const figures: ScenarioFigures = {
    scenario: spec.name,
    injected: spec.injected,
    sent: mixed.length,
    poison: spec.poisonJobs,
    handled: runs.size,
    handlerRuns,
    duplicates: handlerRuns - runs.size + [...drainedJobs].filter((i) => runs.has(i)).length,
    quarantined,
    dlqCopies: moved.length,
    quarantinedForTransientCause: goodInDlq + transientCauseQuarantines,
    transientRetries: metrics.transientRetries,
    stillQueued,
    drained: [...drainedJobs].filter((i) => !runs.has(i)).length,
    lost: mixed.length - handled.size - quarantined - (await queueDepth(sqs, queue.queueUrl)),
    leaks: findLeaks(transcript.parts, marker, [...producerKeys, ...consumerKeys]),
    proxy: { requests: proxyStats.requests, injected: proxyStats.injected },
    openAtDeadline,
    quarantineEvents,
    timing: {
      beforeFaultSeconds: (faultStarted - started) / 1000,
      faultSeconds: (faultEnded - faultStarted) / 1000,
      recoverySeconds: (settled - faultEnded) / 1000,
    },
    seconds: Math.round((Date.now() - started) / 100) / 10,
  }
  // Every transient code seen is a transient one (the classification the accounting relies on).
  for (const code of transientCodes) {
    if (!isTransientErrorCode(code as never)) throw new Error(`transient_error with a non-transient code ${code}`)
  }
  await queue.delete()
  await key.delete()
  sqs.destroy()
  kms.destroy()
  return figures
}
