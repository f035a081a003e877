import { randomBytes } from 'node:crypto'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { inspect } from 'node:util'
import type { SendMessageBatchCommandInput, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs'
import { EnvelopeOpener, EnvelopeSealer } from '@sqs-envelope/core'
import {
  PRODUCER_BATCH_CHANNEL,
  Producer,
  type ProducerBatchEvent,
  type ProducerSealingOptions,
  type SendResult,
} from '@sqs-envelope/producer'
import { createKmsClient, createSqsClient, type TestQueueOptions } from '@sqs-envelope/testing'
import { describe, expect, it, onTestFinished } from 'vitest'
import { minimumBatches, planBatches } from '../packages/producer/src/plan.ts'
import { countCalls, localstackWithKey, receiveAll } from './support.ts'

const context = localstackWithKey()
const { target, sqs, kms, newQueue } = context

const KIB64 = 65_536

/** Fresh clients whose requests are counted, so each test sees only its own calls. */
function counted() {
  const client = { sqs: createSqsClient(target), kms: createKmsClient(target) }
  return { ...client, sqsCalls: countCalls(client.sqs), kmsCalls: countCalls(client.kms) }
}

/** A queue of its own, counted clients, and a producer on them. */
async function setup(queueOptions: TestQueueOptions = {}, options: Partial<ProducerSealingOptions<'text'>> = {}) {
  const queue = await newQueue(queueOptions)
  const c = counted()
  const producer = Producer.create({
    queueUrl: queue.queueUrl,
    sqs: c.sqs,
    kms: c.kms,
    kmsKeyId: context.key.keyId,
    ...options,
  })
  return { queue, c, producer }
}

function text(bytes: number): string {
  return randomBytes(Math.ceil(bytes / 2))
    .toString('hex')
    .slice(0, bytes)
}

/** Opens every received message; returns plaintext by SQS MessageId. */
async function openAll(messages: Awaited<ReturnType<typeof receiveAll>>) {
  const opener = new EnvelopeOpener({ kms, allowedKmsKeyArns: [context.key.keyArn] })
  const byId = new Map<string, unknown>()
  for (const m of messages) byId.set(m.MessageId as string, (await opener.open(m)).value)
  opener.close()
  return byId
}

function successes(results: SendResult[]) {
  return results.filter((r) => r.ok)
}

describe('Producer against LocalStack', () => {
  it('1,000 jobs of mixed sizes in one send: all arrive, each opens to its input, in the fewest SendMessageBatch calls', async () => {
    const { queue, c, producer } = await setup({ attributes: { MaximumMessageSize: String(KIB64) } })
    // A few bytes to near the queue's limit: 40 of 40–48 kB (sealed: 53–64.4 KiB), 200 of 0.7–4 kB, 760 of 1–60 bytes.
    const jobs = [
      ...Array.from({ length: 40 }, (_, i) => text(40_000 + i * 200)),
      ...Array.from({ length: 200 }, (_, i) => `ünïcode ${text(700 + ((i * 97) % 3300))}`),
      ...Array.from({ length: 760 }, (_, i) => text(1 + (i % 60))),
    ].sort(() => Math.random() - 0.5)

    const results = await producer.send(jobs)

    expect(results).toHaveLength(1000)
    expect(results.map((r) => r.index)).toEqual(jobs.map((_, i) => i))
    expect(successes(results)).toHaveLength(1000)
    const sizes = successes(results).map((r) => r.bytes)
    expect(Math.max(...sizes)).toBeGreaterThan(64_000)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(KIB64)
    // Equal to a lower bound (count, total bytes, one per message over half the limit): the minimum.
    const minimum = minimumBatches(sizes, { maxEntries: 10, maxBytes: KIB64 })
    const inOrder = planBatches(sizes, { maxEntries: 10, maxBytes: KIB64 }, true).length
    console.info(
      `1,000 mixed jobs: ${c.sqsCalls.SendMessageBatchCommand} SendMessageBatch calls; lower bound ${minimum}; cut in input order: ${inOrder}`,
    )
    expect(c.sqsCalls.SendMessageBatchCommand).toBe(minimum)
    expect(c.kmsCalls).toEqual({ GenerateDataKeyCommand: 1 })
    expect(producer.metrics()).toMatchObject({ messagesSent: 1000, messagesFailed: 0, batches: minimum, retries: 0 })

    const opened = await openAll(await receiveAll(sqs, queue.queueUrl, 1000))
    expect(opened.size).toBe(1000)
    for (const [i, r] of results.entries()) expect(r.ok && opened.get(r.messageId)).toBe(jobs[i])
    await producer.close()
    await queue.delete()
  })

  it('a send() of 2,100 jobs is sealed and sent window by window: requests go out before the last seal, and all arrive', async () => {
    // Windows of 1,000 jobs; a data key per 100 jobs makes the seals visible as GenerateDataKey calls.
    const { queue, c, producer } = await setup({}, { maxMessagesPerDataKey: 100 })
    const log: string[] = []
    for (const client of [c.sqs, c.kms]) {
      ;(client as typeof c.sqs).middlewareStack.add(
        (next, context) => async (args) => {
          log.push(context.commandName ?? 'unknown')
          return next(args)
        },
        { step: 'initialize', name: 'sqsEnvelopeTestOrder' },
      )
    }
    const jobs = Array.from({ length: 2100 }, (_, i) => `job ${i} ${text(200)}`)

    const results = await producer.send(jobs)

    expect(successes(results)).toHaveLength(2100)
    expect(results.map((r) => r.index)).toEqual(jobs.map((_, i) => i))
    expect(c.kmsCalls).toEqual({ GenerateDataKeyCommand: 21 })
    // 1,000 + 1,000 + 100 jobs: 100 + 100 + 10 full requests, the minimum.
    expect(c.sqsCalls.SendMessageBatchCommand).toBe(210)
    const firstSend = log.indexOf('SendMessageBatchCommand')
    const lastSeal = log.lastIndexOf('GenerateDataKeyCommand')
    expect(firstSend).toBeGreaterThan(-1)
    expect(firstSend).toBeLessThan(lastSeal)
    // At most two windows (20 data keys) are sealed before the first of them is sent.
    expect(log.slice(0, firstSend).filter((name) => name === 'GenerateDataKeyCommand').length).toBeLessThanOrEqual(20)

    const opened = await openAll(await receiveAll(sqs, queue.queueUrl, 2100))
    expect(opened.size).toBe(2100)
    for (const [i, r] of results.entries()) expect(r.ok && opened.get(r.messageId)).toBe(jobs[i])
    await producer.close()
    await queue.delete()
  }, 120_000)

  it('on a 64 KiB queue an over-size job is MESSAGE_TOO_LARGE before any KMS call; the others are delivered', async () => {
    const queue = await newQueue({ attributes: { MaximumMessageSize: String(KIB64) } })
    const alone = counted()
    const first = Producer.create({
      queueUrl: queue.queueUrl,
      sqs: alone.sqs,
      kms: alone.kms,
      kmsKeyId: context.key.keyId,
    })
    const [over] = await first.send(text(60_000))
    expect(over?.ok).toBe(false)
    expect(!over?.ok && [over?.error.code, over?.error.retryable, over?.error.mayHaveBeenSent]).toEqual([
      'MESSAGE_TOO_LARGE',
      false,
      false,
    ])
    expect(!over?.ok && over?.error.message).toMatch(
      /^the sealed message would be at least \d+ bytes with its attributes; the queue's MaximumMessageSize is 65536$/,
    )
    // Neither KMS nor SendMessageBatch: only the queue's attributes were read.
    expect(alone.kmsCalls).toEqual({})
    expect(alone.sqsCalls).toEqual({ GetQueueAttributesCommand: 1 })
    await first.close()

    const c = counted()
    const producer = Producer.create({ queueUrl: queue.queueUrl, sqs: c.sqs, kms: c.kms, kmsKeyId: context.key.keyId })
    const jobs = ['small', text(48_000), text(60_000), text(200_000), 'last']
    const results = await producer.send(jobs)
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
      'ok',
      'ok',
      'MESSAGE_TOO_LARGE',
      'MESSAGE_TOO_LARGE',
      'ok',
    ])
    expect(c.kmsCalls).toEqual({ GenerateDataKeyCommand: 1 })
    // Three seals: the over-size jobs never reached the sealer.
    const kmsMetrics = producer.metrics().kms
    expect(kmsMetrics.cacheHits + kmsMetrics.cacheMisses).toBe(3)
    const opened = await openAll(await receiveAll(sqs, queue.queueUrl, 3))
    expect([...opened.values()].sort()).toEqual([jobs[0], jobs[1], jobs[4]].sort())
    await producer.close()
    await queue.delete()
  })

  it('injected entry failures: retryable ones are retried and delivered, a non-retryable one is reported, results in input order', async () => {
    const queue = await newQueue()
    const c = counted()
    // Entries 3 and 17 fail retryably the first time they are sent, entry 11 always fails as the sender's fault.
    // They are taken out of the real request, so SQS never sees them when they "fail".
    const seen = new Map<string, number>()
    const sentIds: string[][] = []
    c.sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'SendMessageBatchCommand') return next(args)
        const input = args.input as SendMessageBatchCommandInput
        const injected: NonNullable<SendMessageBatchCommandOutput['Failed']> = []
        const kept = (input.Entries ?? []).filter((entry) => {
          const id = entry.Id as string
          const times = (seen.get(id) ?? 0) + 1
          seen.set(id, times)
          if ((id === '3' || id === '17') && times === 1) {
            injected.push({ Id: id, Code: 'ServiceUnavailable', SenderFault: false, Message: 'injected' })
            return false
          }
          if (id === '11') {
            injected.push({ Id: id, Code: 'InvalidParameterValue', SenderFault: true, Message: 'injected' })
            return false
          }
          return true
        })
        sentIds.push(kept.map((e) => e.Id as string))
        const result = await next({ ...args, input: { ...input, Entries: kept } })
        const output = result.output as SendMessageBatchCommandOutput
        output.Failed = [...(output.Failed ?? []), ...injected]
        return result
      },
      { step: 'initialize', name: 'injectEntryFailures' },
    )
    const producer = Producer.create({
      queueUrl: queue.queueUrl,
      sqs: c.sqs,
      kms: c.kms,
      kmsKeyId: context.key.keyId,
      contentType: 'json',
      sqsRetryBaseDelayMs: 1,
    })
    const jobs = Array.from({ length: 25 }, (_, i) => ({ id: `job-${i}`, body: { n: i } }))
    const events: ProducerBatchEvent[] = []
    const onBatch = (event: unknown) => events.push(event as ProducerBatchEvent)
    subscribe(PRODUCER_BATCH_CHANNEL, onBatch)
    const results = await producer.send(jobs)
    unsubscribe(PRODUCER_BATCH_CHANNEL, onBatch)
    // One event per request: three first attempts (with 3 failed entries among them), two retries of one entry each.
    expect(events.map((e) => [e.attempt, e.entries, e.succeeded, e.failed]).sort()).toEqual([
      [1, 10, 8, 2],
      [1, 10, 9, 1],
      [1, 5, 5, 0],
      [2, 1, 1, 0],
      [2, 1, 1, 0],
    ])

    expect(results.map((r) => [r.index, r.id])).toEqual(jobs.map((j, i) => [i, j.id]))
    expect(results.filter((r) => !r.ok).map((r) => r.index)).toEqual([11])
    const failed = results[11]
    expect(failed?.ok === false && failed.error.toJSON()).toEqual({
      name: 'SendFailure',
      code: 'SQS_REJECTED',
      message: 'SQS SendMessageBatch failed with InvalidParameterValue after 1 attempt',
      sqsCode: 'InvalidParameterValue',
      retryable: false,
      mayHaveBeenSent: false,
      attempts: 1,
    })
    // Only the two retryable entries were sent again, each with the rest of its batch's failures (none).
    expect(sentIds.slice(3).sort()).toEqual([['17'], ['3']])
    expect(producer.metrics()).toMatchObject({ messagesSent: 24, messagesFailed: 1, batches: 5, retries: 2 })
    const opened = await openAll(await receiveAll(sqs, queue.queueUrl, 24))
    expect([...opened.values()].map((v) => (v as { n: number }).n).sort((a, b) => a - b)).toEqual(
      jobs.map((_, i) => i).filter((i) => i !== 11),
    )
    for (const r of successes(results)) expect(opened.get(r.messageId)).toEqual({ n: r.index })
    await producer.close()
    await queue.delete()
  })

  it('a retryable failure that outlasts sqsMaxAttempts is SQS_UNAVAILABLE, retryable', async () => {
    const queue = await newQueue()
    const c = counted()
    c.sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'SendMessageBatchCommand') return next(args)
        const input = args.input as SendMessageBatchCommandInput
        const output = {
          $metadata: {},
          Successful: [],
          Failed: (input.Entries ?? []).map((e) => ({ Id: e.Id, Code: 'ThrottlingException', SenderFault: true })),
        }
        return { output, response: {} } as never
      },
      { step: 'initialize', name: 'alwaysThrottled' },
    )
    const producer = Producer.create({
      queueUrl: queue.queueUrl,
      sqs: c.sqs,
      kms: c.kms,
      kmsKeyId: context.key.keyId,
      sqsMaxAttempts: 3,
      sqsRetryBaseDelayMs: 1,
    })
    const [result] = await producer.send('throttled')
    expect(
      result?.ok === false && [result.error.code, result.error.sqsCode, result.error.retryable, result.error.attempts],
    ).toEqual(['SQS_UNAVAILABLE', 'ThrottlingException', true, 3])
    await producer.close()
    await queue.delete()
  })

  it('limits are checked before any SQS call, each with its code', async () => {
    const { queue, c, producer } = await setup()
    const attribute = { DataType: 'String', StringValue: 'x' }
    const eight = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`a${i}`, attribute]))
    const nine = { ...eight, a8: attribute }
    const results = await producer.send([
      { body: 'reserved', messageAttributes: { 'SqsEnvelope.Version': attribute } },
      { body: 'reserved too', messageAttributes: { 'sqsenvelope.other': attribute } },
      { body: 'nine of its own', messageAttributes: nine },
      { body: 'delay', delaySeconds: 901 },
      { body: 'negative delay', delaySeconds: -1 },
      { body: 'group on a standard queue', groupId: 'g' },
      { body: 'dedup on a standard queue', deduplicationId: 'd' },
      { body: 'bad attribute', messageAttributes: { ok: { DataType: 'Strange', StringValue: 'x' } } },
      { body: 42 as unknown as string },
    ])
    expect(results.map((r) => !r.ok && r.error.code)).toEqual([
      'ATTRIBUTE_RESERVED',
      'ATTRIBUTE_RESERVED',
      'TOO_MANY_ATTRIBUTES',
      'MESSAGE_INVALID',
      'MESSAGE_INVALID',
      'MESSAGE_INVALID',
      'MESSAGE_INVALID',
      'MESSAGE_INVALID',
      'PAYLOAD_UNSEALABLE',
    ])
    expect(results.every((r) => !r.ok && r.error.attempts === 0 && !r.error.mayHaveBeenSent)).toBe(true)
    expect(c.sqsCalls).toEqual({ GetQueueAttributesCommand: 1 })
    expect(c.kmsCalls).toEqual({})

    // Eight of its own plus the envelope's two: exactly SQS's ten, delivered; with a context (three), refused after sealing.
    const [ten, eleven] = await producer.send([
      { body: 'ten attributes', messageAttributes: eight, delaySeconds: 0 },
      { body: 'eleven', messageAttributes: eight, encryptionContext: { tenant: 't1' } },
    ])
    expect(ten?.ok).toBe(true)
    expect(eleven?.ok === false && eleven.error.code).toBe('TOO_MANY_ATTRIBUTES')
    const [message] = await receiveAll(sqs, queue.queueUrl, 1)
    expect(Object.keys(message?.MessageAttributes ?? {}).sort()).toEqual(
      [...Object.keys(eight), 'SqsEnvelope.ContentType', 'SqsEnvelope.Version'].sort(),
    )
    await producer.close()
    await queue.delete()
  })

  it('10,000 jobs make one GenerateDataKey with default settings', async () => {
    const { queue, c, producer } = await setup()
    const results = await producer.send(Array.from({ length: 10_000 }, (_, i) => `job ${i}`))
    expect(successes(results)).toHaveLength(10_000)
    expect(c.kmsCalls).toEqual({ GenerateDataKeyCommand: 1 })
    expect(c.sqsCalls.SendMessageBatchCommand).toBe(1000)
    expect(await producer.queueSize()).toBe(10_000)
    await producer.close()
    await queue.delete()
  }, 180_000)

  it('with an injected sealer: its encryption context travels, sizes are measured after sealing, close() leaves it open', async () => {
    const queue = await newQueue({ attributes: { MaximumMessageSize: String(KIB64) } })
    const c = counted()
    const sealer = new EnvelopeSealer({
      kms: c.kms,
      kmsKeyId: context.key.keyId,
      encryptionContext: { queue: 'orders' },
    })
    const producer = Producer.create({ queueUrl: queue.queueUrl, sqs: c.sqs, sealer, contentType: 'bytes' })
    const results = await producer.send([new Uint8Array([1, 2, 3]), new Uint8Array(48_000), new Uint8Array(70_000)])
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'ok', 'MESSAGE_TOO_LARGE'])
    const received = await receiveAll(sqs, queue.queueUrl, 2)
    expect(received.map((m) => m.MessageAttributes?.['SqsEnvelope.Context']?.StringValue)).toEqual([
      '{"queue":"orders"}',
      '{"queue":"orders"}',
    ])
    const opener = new EnvelopeOpener({ kms, requiredEncryptionContext: { queue: 'orders' } })
    const sizes = await Promise.all(received.map(async (m) => (await opener.open<Buffer>(m)).value.length))
    expect(sizes.sort((a, b) => a - b)).toEqual([3, 48_000])
    await producer.close()
    // Still the caller's: it seals after the producer closed.
    await expect(sealer.seal('still open')).resolves.toHaveProperty('body')
    expect(c.kmsCalls).toEqual({ GenerateDataKeyCommand: 1 })
    sealer.close()
    opener.close()
    await queue.delete()
  })

  it('a context the producer cannot know before sealing (injected sealer) is measured right after sealing, before SQS', async () => {
    const queue = await newQueue({ attributes: { MaximumMessageSize: String(KIB64) } })
    const c = counted()
    // About 3 kB of context attribute: 47,000 bytes of plaintext fit without it (≈ 63 kB sealed), not with it.
    const sealer = new EnvelopeSealer({
      kms: c.kms,
      kmsKeyId: context.key.keyId,
      encryptionContext: { pad: 'p'.repeat(3000) },
    })
    const producer = Producer.create({ queueUrl: queue.queueUrl, sqs: c.sqs, sealer })
    const results = await producer.send(['small', text(47_000)])
    const [small, pushed] = results
    expect(small?.ok).toBe(true)
    expect(pushed?.ok === false && [pushed.error.code, pushed.error.attempts]).toEqual(['MESSAGE_TOO_LARGE', 0])
    expect(pushed?.ok === false && pushed.error.message).toMatch(
      /^the sealed message would be 6\d{4} bytes with its attributes; the queue's MaximumMessageSize is 65536$/,
    )
    expect(c.sqsCalls.SendMessageBatchCommand).toBe(1)
    expect(producer.metrics().messagesSent).toBe(1)
    await producer.close()
    sealer.close()
    await queue.delete()
  })

  it('an aborted send fails its unsent messages with ABORTED, retryable', async () => {
    const { queue, c, producer } = await setup()
    const controller = new AbortController()
    controller.abort()
    // Before the queue's attributes are known, nothing can be sent: the send rejects.
    const early = await producer.send('a', { signal: controller.signal }).catch((e: unknown) => e)
    expect((early as { code?: string }).code).toBe('ABORTED')
    // Once they are (cached), each message gets its result.
    expect((await producer.send('warm'))[0]?.ok).toBe(true)
    const results = await producer.send(['a', 'b'], { signal: controller.signal })
    expect(results.map((r) => !r.ok && [r.error.code, r.error.retryable, r.error.mayHaveBeenSent])).toEqual([
      ['ABORTED', true, false],
      ['ABORTED', true, false],
    ])
    expect(c.sqsCalls.SendMessageBatchCommand).toBe(1)
    await producer.close()
    await queue.delete()
  })

  it('no payload appears in results, errors, their causes or the producer, whatever fails', async () => {
    const queue = await newQueue({ attributes: { MaximumMessageSize: String(KIB64) } })
    const c = counted()
    c.sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'SendMessageBatchCommand') return next(args)
        const input = args.input as SendMessageBatchCommandInput
        const result = await next({ ...args, input: { ...input, Entries: input.Entries?.filter((e) => e.Id !== '1') } })
        const output = result.output as SendMessageBatchCommandOutput
        output.Failed = [{ Id: '1', Code: 'InvalidMessageContents', SenderFault: true, Message: 'injected' }]
        return result
      },
      { step: 'initialize', name: 'rejectEntry1' },
    )
    const producer = Producer.create({ queueUrl: queue.queueUrl, sqs: c.sqs, kms: c.kms, kmsKeyId: context.key.keyId })
    const marker = `MARKER-${randomBytes(8).toString('hex')}`
    const results = await producer.send([
      marker,
      { id: 'rejected', body: `${marker} rejected by SQS` },
      marker.repeat(4000),
      { body: marker, delaySeconds: 5000 },
      { body: marker, messageAttributes: { 'SqsEnvelope.Mine': { DataType: 'String', StringValue: 'x' } } },
      { body: { marker } as unknown as string },
    ])
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
      'ok',
      'SQS_REJECTED',
      'MESSAGE_TOO_LARGE',
      'MESSAGE_INVALID',
      'ATTRIBUTE_RESERVED',
      'PAYLOAD_UNSEALABLE',
    ])
    const seen = [
      JSON.stringify(results),
      inspect(results, { depth: 10 }),
      ...results.map((r) => (r.ok ? '' : `${r.error.stack} ${String(r.error.cause)}`)),
      JSON.stringify(producer),
      inspect(producer, { depth: 10 }),
      JSON.stringify(producer.metrics()),
    ].join('\n')
    expect(seen).not.toContain('MARKER-')
    await producer.close()
    await queue.delete()
  })

  it('built clients honour AWS_ENDPOINT_URL; close() waits for sends under way, then refuses new ones with CLOSED; it is idempotent', async () => {
    const queue = await newQueue()
    // The clients this producer builds find credentials, region and endpoint as the SDK does: here from the environment.
    const saved = { ...process.env }
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: target.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: target.credentials.secretAccessKey,
      AWS_REGION: target.region,
      AWS_ENDPOINT_URL: target.endpoint,
    })
    onTestFinished(() => {
      process.env = saved
    })
    const producer = new Producer({ queueUrl: queue.queueUrl, kmsKeyId: context.key.keyId })
    const pending = producer.send(Array.from({ length: 30 }, (_, i) => `job ${i}`))
    const closed = producer.close()
    expect(successes(await pending)).toHaveLength(30)
    await closed
    await producer.close()
    const error = await producer.send('late').catch((e: unknown) => e)
    expect((error as { code?: string }).code).toBe('CLOSED')
    expect(JSON.stringify(producer)).toBe(JSON.stringify({ queueUrl: queue.queueUrl, kmsKeyId: context.key.keyId }))
    await queue.delete()
  })
})
