// The hostile-body corpus through the real consumer: the handler never sees one, each is quarantined
// intact with its code; what SQS cannot carry is checked against the opener directly.
import { ATTRIBUTE_QUARANTINE_CODE, EnvelopeConsumer } from '@sqs-envelope/consumer'
import { EnvelopeOpener, EnvelopeSealer } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import { queueDepth, receiveAll, sealedToRaw, sendRaw, startTrickle, waitFor } from '../consumer-support.ts'
import { captureDataKeys, failure, localstack, localstackFixture } from '../support.ts'
import { hostileCorpus, UNSENDABLE_BODIES } from './corpus.ts'
import { findLeaks, Transcript } from './leaks.ts'
import { report } from './scale.ts'

const { sqs, kms, newKey, newQueue } = localstackFixture()

describe('hostile bodies', () => {
  it('the corpus through the consumer: never handled, each quarantined intact with its code, good jobs still handled', async () => {
    const dataKeys = captureDataKeys(kms)
    const [key, otherKey, disabledKey] = await Promise.all([newKey(), newKey(), newKey()])
    const queue = await newQueue({ prefix: 'rel-hostile', deadLetterQueue: { maxReceiveCount: 50 } })
    const context = { queue: queue.queueArn }
    const corpus = await hostileCorpus({
      kms,
      keyId: key.keyId,
      otherKeyId: otherKey.keyId,
      disabledKeyId: disabledKey.keyId,
      context,
    })
    await disabledKey.disable()
    const marker = `MARKER-hostile-${Date.now()}`
    const sealer = new EnvelopeSealer({ kms, kmsKeyId: key.keyId, encryptionContext: context })
    const good = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => sealedToRaw(await sealer.seal(`${marker}-${i}`))),
    )
    // The breaker quarantines a suspect failure (the disabled or foreign key, the other context) only once some
    // job opened after its data key first failed: good traffic goes on, one job every 300 ms, until the end.
    const trickle = await Promise.all(
      Array.from({ length: 150 }, async (_, i) => sealedToRaw(await sealer.seal(`${marker}-t${i}`))),
    )
    await sendRaw(sqs, queue.queueUrl, [...good.slice(0, 5), ...corpus.map((c) => c.raw), ...good.slice(5)], 1)

    const transcript = new Transcript()
    transcript.listenDiagnostics()
    const consumerKms = localstack().kms
    const consumerKeys = captureDataKeys(consumerKms)
    const handled: string[] = []
    const consumer = new EnvelopeConsumer<string>({
      queueUrl: queue.queueUrl,
      sqs,
      kms: consumerKms,
      allowedKmsKeyArns: [key.keyArn, disabledKey.keyArn],
      requiredEncryptionContext: context,
      waitTimeSeconds: 1,
      // One suspect KMS answer (the disabled key) must be quarantined, not open the breaker.
      breakerThreshold: 3,
      logger: transcript.logger,
      handleMessage: (job) => {
        handled.push(job)
      },
    })
    transcript.watch(consumer)
    consumer.start()
    const trickler = startTrickle(sqs, queue.queueUrl, trickle, 300)
    let trickled = 0
    try {
      await waitFor(
        () => handled.length >= good.length && consumer.metrics().quarantined === corpus.length,
        45_000,
        'good jobs handled and the corpus quarantined',
      )
    } finally {
      trickled = await trickler.stop()
    }
    await waitFor(() => handled.length === good.length + trickled, 20_000, 'the trickle handled')
    await consumer.stop()
    transcript.add(consumer.metrics())
    transcript.close()
    consumerKms.destroy()

    expect(handled.sort()).toEqual(
      [
        ...Array.from({ length: 10 }, (_, i) => `${marker}-${i}`),
        ...Array.from({ length: trickled }, (_, i) => `${marker}-t${i}`),
      ].sort(),
    )
    const moved = await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string, corpus.length)
    expect(moved).toHaveLength(corpus.length)
    const outcome: Record<string, string> = {}
    for (const item of corpus) {
      const copies = moved.filter((m) => m.Body === item.raw.body)
      const code = copies
        .map((m) => m.MessageAttributes?.[ATTRIBUTE_QUARANTINE_CODE]?.StringValue)
        .find((c) => c !== undefined && item.codes.includes(c))
      expect(code, `${item.name}: quarantined with one of ${item.codes.join(', ')}`).toBeDefined()
      outcome[item.name] = code as string
      // Its attributes travel with it, unchanged.
      for (const [name, value] of Object.entries(item.raw.messageAttributes ?? {})) {
        expect(copies.some((m) => m.MessageAttributes?.[name]?.StringValue === value.StringValue)).toBe(true)
      }
    }
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    expect(consumerKeys.length).toBeGreaterThan(0)
    expect(transcript.size).toBeGreaterThan(corpus.length)
    expect(findLeaks(transcript.parts, marker, [...dataKeys, ...consumerKeys])).toEqual([])
    report({
      scenario: 'hostile corpus',
      messages: corpus.length + good.length + trickled,
      handled: handled.length,
      outcome,
    })
    await queue.delete()
  }, 90_000)

  it('bodies SQS cannot carry (empty, over 1 MiB, lone surrogates, NUL): the opener answers each with its code', async () => {
    const opener = new EnvelopeOpener({ kms })
    for (const item of UNSENDABLE_BODIES) {
      const { code } = await failure(opener.open({ Body: item.body }))
      expect(item.codes, item.name).toContain(code)
    }
  })
})
