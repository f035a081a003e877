// @sqs-envelope/lambda against LocalStack: real jobs from the producer, received raw as an event
// source mapping receives them, turned into the event Lambda would pass (toLambdaSqsEvent), the
// handler invoked, and then deleted or left as its partial batch response says, as Lambda does.
import { DisableKeyCommand } from '@aws-sdk/client-kms'
import { DeleteMessageBatchCommand, type Message, type MessageAttributeValue } from '@aws-sdk/client-sqs'
import type { MessageContext } from '@sqs-envelope/consumer'
import { EnvelopeSealer } from '@sqs-envelope/core'
import { parseBody } from '@sqs-envelope/core/wire'
import { createSqsHandler, type LambdaHandlerOptions, type SQSBatchResponse, type SQSEvent } from '@sqs-envelope/lambda'
import { Producer } from '@sqs-envelope/producer'
import { createKmsClient, startFaultProxy, type TestKey, type TestQueue, toLambdaSqsEvent } from '@sqs-envelope/testing'
import { describe, expect, it } from 'vitest'
import { queueDepth, receiveAll, sendRaw } from './consumer-support.ts'
import { localstackFixture } from './support.ts'

// Each test gets its own key and queues (deleted after the file).
const fixture = localstackFixture()
const { target, sqs, kms } = fixture

/** One test's key and queue. */
async function newQueue(options: Parameters<typeof fixture.newQueue>[0]): Promise<{ key: TestKey; queue: TestQueue }> {
  const [key, queue] = await Promise.all([fixture.newKey({ aliasPrefix: 'lambda' }), fixture.newQueue(options)])
  return { key, queue }
}

/** A Lambda context with `remainingMs` left from now. */
function lambdaContext(remainingMs = 60_000) {
  const end = Date.now() + remainingMs
  return { getRemainingTimeInMillis: () => end - Date.now(), awsRequestId: 'test' }
}

/** Receives `count` messages raw (every attribute, every system attribute), as an event source mapping does. */
async function receiveEvent(queue: TestQueue, count: number): Promise<{ messages: Message[]; event: SQSEvent }> {
  const messages = await receiveAll(sqs, queue.queueUrl, count)
  expect(messages).toHaveLength(count)
  return { messages, event: toLambdaSqsEvent(messages, queue.queueArn) }
}

/** What Lambda does with a partial batch response: deletes every record not in batchItemFailures. */
async function settle(queueUrl: string, messages: readonly Message[], response: SQSBatchResponse): Promise<string[]> {
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier))
  const done = messages.filter((m) => !failed.has(m.MessageId as string))
  for (let i = 0; i < done.length; i += 10) {
    const chunk = done.slice(i, i + 10)
    const { Failed = [] } = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    )
    expect(Failed).toEqual([])
  }
  return done.map((m) => m.MessageId as string)
}

function handlerOptions(key: TestKey, extra: Partial<LambdaHandlerOptions<string>>): LambdaHandlerOptions<string> {
  return { sqs, kms, allowedKmsKeyArns: [key.keyArn], handleMessage: () => {}, ...extra }
}

/** Attributes of the sender's own, to check they reach the DLQ unchanged. */
const userAttributes: Record<string, MessageAttributeValue> = {
  'app.trace': { DataType: 'String', StringValue: 'trace-ünïcode' },
  'app.blob': { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 254, 255]) },
  'app.count': { DataType: 'Number', StringValue: '1000' },
}

/** An attribute map as plain comparable values (binary as base64). */
function comparable(attributes: Message['MessageAttributes']) {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(attributes ?? {})) {
    out[name] =
      `${value.DataType}:${value.StringValue ?? Buffer.from(value.BinaryValue ?? new Uint8Array()).toString('base64')}`
  }
  return out
}

describe('createSqsHandler against LocalStack', () => {
  it('good jobs handled once, failed ones left, poison in the DLQ byte-identical (body and every attribute)', async () => {
    const { key, queue } = await newQueue({ prefix: 'lambda', deadLetterQueue: true })
    const producer = Producer.create({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      kmsKeyId: key.keyId,
      encryptionContext: { queue: queue.queueArn },
    })
    const sent = await producer.send(Array.from({ length: 18 }, (_, i) => `job-${i}`))
    expect(sent.every((r) => r.ok)).toBe(true)
    const good = await new EnvelopeSealer({
      kms,
      kmsKeyId: key.keyId,
      encryptionContext: { queue: queue.queueArn },
    }).seal('never seen')
    const { token } = parseBody(good.body)
    const flipped = good.body.replace(token, token.slice(0, 40) + (token[40] === 'A' ? 'B' : 'A') + token.slice(41))
    const poison = [
      { body: 'not json at all', messageAttributes: userAttributes },
      { body: flipped, messageAttributes: { ...good.messageAttributes, ...userAttributes } },
    ]
    await sendRaw(sqs, queue.queueUrl, poison)

    const { messages, event } = await receiveEvent(queue, 20)
    const handled: string[] = []
    const contexts: MessageContext[] = []
    const handler = createSqsHandler<string>(
      handlerOptions(key, {
        requiredEncryptionContext: { queue: queue.queueArn },
        handleMessage: (job, ctx) => {
          if (job === 'job-3' || job === 'job-7') throw new Error('the handler failed')
          handled.push(job)
          contexts.push(ctx)
        },
      }),
    )
    const quarantined: string[] = []
    handler.events.on('message_quarantined', (e) => quarantined.push(`${e.code}:${e.moved}`))
    const response = await handler(event, lambdaContext())
    await settle(queue.queueUrl, messages, response)

    const byJob = new Map(messages.map((m) => [m.MessageId, m]))
    expect(handled.sort()).toEqual(
      Array.from({ length: 18 }, (_, i) => `job-${i}`)
        .filter((j) => j !== 'job-3' && j !== 'job-7')
        .sort(),
    )
    expect(response.batchItemFailures).toHaveLength(2)
    for (const f of response.batchItemFailures) expect(byJob.get(f.itemIdentifier)?.Body).not.toBe(poison[0]?.body)
    expect(quarantined.sort()).toEqual(['BODY_NOT_JSON:true', 'TOKEN_MAC:true'])
    expect(contexts[0]).toMatchObject({ queueUrl: queue.queueUrl, receiveCount: 1, contentType: 'text' })
    expect(contexts[0]?.encryptionContext).toEqual({ queue: queue.queueArn })
    // The two handler failures stay in the queue (in flight until their visibility ends), nothing else.
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(2)

    const dlq = await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string, 2)
    expect(dlq.map((m) => m.Body).sort()).toEqual(poison.map((p) => p.body).sort())
    for (const copy of dlq) {
      const original = messages.find((m) => m.Body === copy.Body) as Message
      const copied = comparable(copy.MessageAttributes)
      const code = copied['SqsEnvelope.QuarantineCode']
      const added = Object.keys(copied).filter((name) => name.startsWith('SqsEnvelope.Quarantine'))
      for (const name of added) delete copied[name]
      expect(copied).toEqual(comparable(original.MessageAttributes))
      expect(added.sort()).toEqual([
        'SqsEnvelope.QuarantineCode',
        'SqsEnvelope.QuarantineSource',
        'SqsEnvelope.QuarantineTime',
      ])
      expect(code).toMatch(/^String:(BODY_NOT_JSON|TOKEN_MAC)$/)
      expect(copy.MD5OfBody).toBe(original.MD5OfBody)
    }
    expect(handler.metrics()).toMatchObject({ received: 20, processed: 16, failed: 2, quarantined: 2 })
    await handler.close()
    await producer.close()
  })

  it('KMS throttled for every Decrypt (fault proxy): every job reported, none quarantined; once KMS answers, all handled', async () => {
    const { key, queue } = await newQueue({ prefix: 'lambda-kms', deadLetterQueue: true })
    const producer = Producer.create({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: key.keyId })
    expect((await producer.send(['a', 'b', 'c', 'd', 'e'])).every((r) => r.ok)).toBe(true)
    const proxy = await startFaultProxy({ upstream: target.endpoint, lifetimeMs: 60_000 })
    const proxiedKms = createKmsClient({ ...target, endpoint: proxy.endpoint })
    const handled: string[] = []
    const handler = createSqsHandler<string>(
      handlerOptions(key, {
        kms: proxiedKms,
        kmsMaxAttempts: 2,
        kmsRetryBaseDelayMs: 1,
        kmsRetryMaxDelayMs: 5,
        handleMessage: (job) => {
          handled.push(job)
        },
      }),
    )
    const { messages, event } = await receiveEvent(queue, 5)
    const fault = proxy.inject({
      service: 'kms',
      operations: ['Decrypt'],
      action: { kind: 'throttle' },
      durationMs: 60_000,
    })
    const response = await handler(event, lambdaContext())
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      messages.map((m) => m.MessageId).sort(),
    )
    expect(handled).toEqual([])
    expect(proxy.stats().injected.throttle).toBeGreaterThan(0)
    expect(handler.metrics()).toMatchObject({ quarantined: 0, transientRetries: 5 })
    await proxy.close()
    await fault
    // KMS answers again (straight, no proxy): the same records, delivered again, are all handled.
    const again = createSqsHandler<string>(handlerOptions(key, { handleMessage: (job) => void handled.push(job) }))
    const second = await again(event, lambdaContext())
    expect(second.batchItemFailures).toEqual([])
    await settle(queue.queueUrl, messages, second)
    expect(handled.sort()).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string)).toEqual([])
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    await Promise.all([handler.close(), again.close(), producer.close()])
    proxiedKms.destroy()
  })

  it('a function whose allowlist names another key quarantines nothing: every job reported, the breaker opens, the DLQ stays empty', async () => {
    const { key, queue } = await newQueue({ prefix: 'lambda-breaker', deadLetterQueue: true })
    const otherKey = await fixture.newKey({ aliasPrefix: 'lambda-other' })
    const producer = Producer.create({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: key.keyId, reuse: false })
    expect((await producer.send(Array.from({ length: 8 }, (_, i) => `job-${i}`))).every((r) => r.ok)).toBe(true)
    const { messages, event } = await receiveEvent(queue, 8)
    const handler = createSqsHandler<string>(handlerOptions(otherKey, { concurrency: 1 }))
    const opened: unknown[] = []
    handler.events.on('breaker_opened', (e) => opened.push(e))
    const response = await handler(event, lambdaContext())
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      messages.map((m) => m.MessageId).sort(),
    )
    expect(opened).toEqual([{ streak: 4 }])
    expect(handler.metrics()).toMatchObject({ quarantined: 0, breaker: 'open' })
    expect(await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string)).toEqual([])
    await Promise.all([handler.close(), producer.close()])
  })

  it('one job sealed under a key then disabled (KMS DisableKey), among good ones: reported first, quarantined intact on its next delivery once jobs opened, no good one quarantined', async () => {
    const { key, queue } = await newQueue({ prefix: 'lambda-odd-key', deadLetterQueue: true })
    const oddKey = await fixture.newKey({ aliasPrefix: 'lambda-odd' })
    const producer = Producer.create({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: key.keyId })
    const odd = Producer.create({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: oddKey.keyId })
    expect((await producer.send(['good-1', 'good-2', 'good-3'])).every((r) => r.ok)).toBe(true)
    const [bad] = await odd.send(['sealed under the odd key'])
    await kms.send(new DisableKeyCommand({ KeyId: oddKey.keyId }))
    const { messages, event } = await receiveEvent(queue, 4)
    const badId = bad?.ok ? bad.messageId : ''
    const isBadMessage = (m: Message) => m.MessageId === badId
    const handled: string[] = []
    const handler = createSqsHandler<string>({
      ...handlerOptions(key, { handleMessage: (job) => void handled.push(job) }),
      allowedKmsKeyArns: [key.keyArn, oddKey.keyArn],
      concurrency: 1,
    })
    // The odd record first: nothing has opened yet, so its failure has no evidence.
    const isBad = (r: { messageId: string }) => r.messageId === badId
    const oddFirst = { Records: [...event.Records.filter(isBad), ...event.Records.filter((r) => !isBad(r))] }
    const first = await handler(oddFirst, lambdaContext())
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: badId }])
    expect(handled.sort()).toEqual(['good-1', 'good-2', 'good-3'])
    // Its next delivery: jobs opened since its data key first failed, so this key is the odd one.
    const second = await handler({ Records: event.Records.filter(isBad) }, lambdaContext())
    expect(second.batchItemFailures).toEqual([])
    await settle(queue.queueUrl, messages, first)
    await settle(queue.queueUrl, messages.filter(isBadMessage), second)
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
    const dlq = await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string, 1)
    const original = messages.find((m) => m.MessageId === badId) as Message
    expect(dlq.map((m) => [m.Body, m.MessageAttributes?.['SqsEnvelope.QuarantineCode']?.StringValue])).toEqual([
      [original.Body, 'KMS_KEY_DISABLED'],
    ])
    expect(handler.metrics()).toMatchObject({ processed: 3, quarantined: 1, breaker: 'closed' })
    await Promise.all([handler.close(), producer.close(), odd.close()])
  })

  it('FIFO: after the first record not done every later one is reported; skipGroupOnError keeps other groups going', async () => {
    const { key, queue } = await newQueue({ prefix: 'lambda-fifo', fifo: true, deadLetterQueue: true })
    const producer = Producer.create({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      kmsKeyId: key.keyId,
      contentBasedDeduplication: true,
      deduplicationSecret: Buffer.alloc(32, 7),
    })
    const jobs = ['a-1', 'b-1', 'a-2', 'b-2', 'a-3', 'b-3'].map((body) => ({ groupId: body[0] as string, body }))
    const results = await producer.send(jobs)
    const jobOf = new Map(results.map((r) => [r.ok ? r.messageId : '', jobs[r.index]?.body]))
    expect(jobOf.size).toBe(6)

    const { messages, event } = await receiveEvent(queue, 6)
    const recordJobs = event.Records.map((r) => jobOf.get(r.messageId))
    const cut = recordJobs.indexOf('a-2')
    expect(recordJobs.filter((j) => j?.startsWith('a'))).toEqual(['a-1', 'a-2', 'a-3']) // SQS keeps a group's order
    const handled: string[] = []
    const failOn = (bad: string) => (job: string) => {
      if (job === bad) throw new Error('failed')
      handled.push(job)
    }
    const reportedJobs = (response: SQSBatchResponse) =>
      response.batchItemFailures.map((f) => jobOf.get(f.itemIdentifier))

    const strict = createSqsHandler<string>(handlerOptions(key, { handleMessage: failOn('a-2') }))
    const first = await strict(event, lambdaContext())
    expect(handled).toEqual(recordJobs.slice(0, cut))
    expect(reportedJobs(first)).toEqual(recordJobs.slice(cut))

    // Nothing deleted yet: the same records again, per group this time.
    handled.length = 0
    const perGroup = createSqsHandler<string>(
      handlerOptions(key, { handleMessage: failOn('a-2'), skipGroupOnError: true }),
    )
    const second = await perGroup(event, lambdaContext())
    expect(handled.sort()).toEqual(['a-1', 'b-1', 'b-2', 'b-3'])
    expect(reportedJobs(second)).toEqual(['a-2', 'a-3'])
    await settle(queue.queueUrl, messages, second)
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(2) // a-2 and a-3 stay, to come back in order
    await Promise.all([strict.close(), perGroup.close(), producer.close()])
  })

  it('the signal aborts timeoutMarginMs before the invocation’s end: the response comes in time, the slow record is left', async () => {
    const { key, queue } = await newQueue({ prefix: 'lambda-deadline' })
    const producer = Producer.create({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: key.keyId })
    expect((await producer.send(['fast-1', 'slow', 'fast-2'])).every((r) => r.ok)).toBe(true)
    const { messages, event } = await receiveEvent(queue, 3)
    const handled: string[] = []
    let abortedWith: unknown
    const handler = createSqsHandler<string>(
      handlerOptions(key, {
        timeoutMarginMs: 1000,
        handleMessage: async (job, { signal }) => {
          if (job === 'slow') {
            await new Promise((resolve) => signal.addEventListener('abort', resolve))
            abortedWith = signal.reason
            throw signal.reason
          }
          handled.push(job)
        },
      }),
    )
    const started = performance.now()
    const response = await handler(event, lambdaContext(2500))
    const elapsed = performance.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(1400)
    expect(elapsed).toBeLessThan(2400)
    expect(abortedWith).toMatchObject({ code: 'HANDLER_TIMEOUT' })
    const slow = messages.find((m) => m.MessageId === response.batchItemFailures[0]?.itemIdentifier)
    expect(response.batchItemFailures).toHaveLength(1)
    expect(handled.sort()).toEqual(['fast-1', 'fast-2'])
    expect(slow).toBeDefined()
    await settle(queue.queueUrl, messages, response)
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(1)
    await Promise.all([handler.close(), producer.close()])
  })
})
