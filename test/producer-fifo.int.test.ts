import { createHash } from 'node:crypto'
import type { SendMessageBatchCommandInput } from '@aws-sdk/client-sqs'
import { EnvelopeOpener } from '@sqs-envelope/core'
import { Producer, type ProducerSealingOptions } from '@sqs-envelope/producer'
import { createSqsClient } from '@sqs-envelope/testing'
import { describe, expect, it } from 'vitest'
import { localstackWithKey, receiveAll } from './support.ts'

const context = localstackWithKey()
const { target, sqs, kms, newQueue } = context
const secret = 'a deduplication secret of 32 bytes!'

/** An SQS client that records the MessageDeduplicationId of every entry it sends. */
function recordingSqs() {
  const client = createSqsClient(target)
  const deduplicationIds: string[] = []
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageBatchCommand') {
        for (const e of (args.input as SendMessageBatchCommandInput).Entries ?? []) {
          deduplicationIds.push(e.MessageDeduplicationId as string)
        }
      }
      return next(args)
    },
    { step: 'initialize', name: 'recordDeduplicationIds' },
  )
  return { client, deduplicationIds }
}

/** A producer that derives deduplication ids under `secret`. */
function deduplicating(queueUrl: string, options: Partial<ProducerSealingOptions<'text'>> = {}) {
  return Producer.create({
    queueUrl,
    sqs,
    kms,
    kmsKeyId: context.key.keyId,
    contentBasedDeduplication: true,
    deduplicationSecret: secret,
    ...options,
  })
}

describe('Producer on FIFO queues', () => {
  it('keeps order within each group across several concurrent batches', async () => {
    const queue = await newQueue({ fifo: true })
    const producer = deduplicating(queue.queueUrl)
    const groups = ['a', 'b', 'c']
    const jobs = Array.from({ length: 75 }, (_, i) => ({
      groupId: groups[i % 3] as string,
      body: `${groups[i % 3]}-${String(Math.floor(i / 3)).padStart(2, '0')}`,
    }))
    const results = await producer.send(jobs)
    expect(results.every((r) => r.ok)).toBe(true)
    expect(producer.metrics().batches).toBe(8)
    // SQS numbers FIFO messages as it enqueues them: within a group, they follow input order.
    for (const group of groups) {
      const sequence = results
        .filter((r) => jobs[r.index]?.groupId === group)
        .map((r) => BigInt((r.ok && r.sequenceNumber) || -1))
      expect(sequence.every((n, i) => n > 0n && (i === 0 || n > (sequence[i - 1] as bigint)))).toBe(true)
    }
    const opener = new EnvelopeOpener({ kms, allowedKmsKeyArns: [context.key.keyArn] })
    const received = await receiveAll(sqs, queue.queueUrl, 75, true)
    const byGroup = new Map<string, string[]>()
    for (const m of received) {
      const group = m.Attributes?.MessageGroupId as string
      byGroup.set(group, [...(byGroup.get(group) ?? []), (await opener.open<string>(m)).value])
    }
    for (const group of groups) {
      expect(byGroup.get(group)).toEqual(jobs.filter((j) => j.groupId === group).map((j) => j.body))
    }
    opener.close()
    await producer.close()
    await queue.delete()
  })

  it('sends called one after another without waiting keep call order within a group', async () => {
    const queue = await newQueue({ fifo: true })
    const producer = deduplicating(queue.queueUrl)
    // Five sends in flight at once; the later ones are small and would otherwise overtake.
    const sends = [30, 1, 12, 1, 5].map((count, s) =>
      producer.send(Array.from({ length: count }, (_, i) => ({ groupId: 'g', body: `send ${s} job ${i}` }))),
    )
    const results = (await Promise.all(sends)).flat()
    expect(results.every((r) => r.ok)).toBe(true)
    const sequence = results.map((r) => BigInt((r.ok && r.sequenceNumber) || -1))
    expect(sequence.every((n, i) => n > 0n && (i === 0 || n > (sequence[i - 1] as bigint)))).toBe(true)
    await producer.close()
    await queue.delete()
  })

  it('the same job sent twice with content-based deduplication is delivered once; its id is a keyed HMAC, not a hash of the payload', async () => {
    const queue = await newQueue({ fifo: true })
    const recorded = recordingSqs()
    const producer = Producer.create({
      queueUrl: queue.queueUrl,
      sqs: recorded.client,
      kms,
      kmsKeyId: context.key.keyId,
      contentType: 'json',
      contentBasedDeduplication: true,
      deduplicationSecret: secret,
    })
    const job = { groupId: 'orders', body: { orderId: 42 } }
    const first = await producer.send(job)
    const second = await producer.send([job, { groupId: 'orders', body: { orderId: 43 } }])
    expect([...first, ...second].every((r) => r.ok)).toBe(true)

    const received = await receiveAll(sqs, queue.queueUrl, 3, true)
    const opener = new EnvelopeOpener({ kms, allowedKmsKeyArns: [context.key.keyArn] })
    const values = await Promise.all(received.map(async (m) => (await opener.open(m)).value))
    expect(values).toEqual([{ orderId: 42 }, { orderId: 43 }])

    const [id42, again42, id43] = recorded.deduplicationIds
    expect(id42).toMatch(/^[0-9a-f]{64}$/)
    expect(again42).toBe(id42)
    expect(id43).not.toBe(id42)
    const plaintext = JSON.stringify(job.body)
    const unkeyed = ['md5', 'sha1', 'sha256', 'sha512'].flatMap((algorithm) =>
      ['hex', 'base64', 'base64url'].map((encoding) =>
        createHash(algorithm)
          .update(plaintext)
          .digest(encoding as 'hex'),
      ),
    )
    for (const hash of unkeyed) expect(id42?.startsWith(hash.slice(0, 16))).toBe(false)

    // Another secret, another id for the same job: the id depends on the key, not only on the payload.
    const other = recordingSqs()
    const otherProducer = Producer.create({
      queueUrl: queue.queueUrl,
      sqs: other.client,
      kms,
      kmsKeyId: context.key.keyId,
      contentType: 'json',
      contentBasedDeduplication: true,
      deduplicationSecret: 'another secret of at least 16 bytes',
    })
    await otherProducer.send(job)
    expect(other.deduplicationIds[0]).not.toBe(id42)
    opener.close()
    await otherProducer.close()
    other.client.destroy()
    await producer.close()
    recorded.client.destroy()
    await queue.delete()
  })

  it('a queue with ContentBasedDeduplication and no deduplicationSecret: OPTION_INVALID that says why, unless turned off', async () => {
    const queue = await newQueue({ fifo: true, attributes: { ContentBasedDeduplication: 'true' } })
    const producer = Producer.create({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: context.key.keyId })
    const error = await producer.send({ groupId: 'g', body: 'x' }).catch((e: unknown) => e)
    expect((error as { code?: string }).code).toBe('OPTION_INVALID')
    expect((error as Error).message).toContain('cannot work on encrypted bodies')
    // An explicit id still works, and so does turning deduplication off knowingly.
    const off = Producer.create({
      queueUrl: queue.queueUrl,
      sqs,
      kms,
      kmsKeyId: context.key.keyId,
      contentBasedDeduplication: false,
    })
    const [result] = await off.send({ groupId: 'g', body: 'x' })
    expect(result?.ok || result?.error.toJSON()).toBe(true)
    await producer.close()
    await off.close()
    await queue.delete()
  })

  it('FIFO rules are checked before any SQS call: group id required, per-message delay refused, deduplication id required', async () => {
    const queue = await newQueue({ fifo: true })
    const producer = Producer.create({ queueUrl: queue.queueUrl, sqs, kms, kmsKeyId: context.key.keyId })
    const results = await producer.send([
      { body: 'no group', deduplicationId: 'd1' },
      { body: 'delayed', groupId: 'g', deduplicationId: 'd2', delaySeconds: 5 },
      { body: 'no deduplication id', groupId: 'g' },
      { body: 'bad group', groupId: 'has space', deduplicationId: 'd3' },
      { body: 'fine', groupId: 'g', deduplicationId: 'd4' },
    ])
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
      'MESSAGE_INVALID',
      'MESSAGE_INVALID',
      'MESSAGE_INVALID',
      'MESSAGE_INVALID',
      'ok',
    ])
    expect(results.map((r) => !r.ok && r.error.message).slice(0, 3)).toEqual([
      'groupId is required on a FIFO queue',
      'delaySeconds per message is not supported on FIFO queues (set the queue’s DelaySeconds)',
      'deduplicationId is required on this FIFO queue: it has no content-based deduplication and the producer no contentBasedDeduplication',
    ])
    expect(producer.metrics()).toMatchObject({ batches: 1, messagesSent: 1, messagesFailed: 4 })
    await producer.close()
    await queue.delete()
  })
})
