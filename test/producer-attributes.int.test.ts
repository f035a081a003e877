// Issue 23 item 7: one job whose attribute SQS cannot take fails alone, before batching; the others are sent.
import type { SendMessageBatchCommandInput } from '@aws-sdk/client-sqs'
import { Producer } from '@sqs-envelope/producer'
import { createKmsClient, createSqsClient, createTestQueue } from '@sqs-envelope/testing'
import { describe, expect, it, onTestFinished } from 'vitest'
import { localstackWithKey, receiveAll } from './support.ts'

const context = localstackWithKey()
const { target, sqs } = context

/** A queue of its own and a producer whose SendMessageBatch entries are recorded. */
async function setup() {
  const queue = await createTestQueue(sqs)
  const client = createSqsClient(target)
  const kms = createKmsClient(target)
  const sentIds: string[] = []
  client.middlewareStack.add(
    (next, ctx) => async (args) => {
      if (ctx.commandName === 'SendMessageBatchCommand') {
        for (const entry of (args.input as SendMessageBatchCommandInput).Entries ?? []) sentIds.push(entry.Id as string)
      }
      return next(args)
    },
    { step: 'initialize', name: 'recordEntries' },
  )
  const producer = new Producer({ queueUrl: queue.queueUrl, kmsKeyId: context.key.keyId, kms, sqs: client })
  onTestFinished(async () => {
    await producer.close()
    client.destroy()
    kms.destroy()
    await queue.delete()
  })
  return { queue, producer, sentIds }
}

const BAD_VALUES: [string, string][] = [
  ['a lone high surrogate', 'before \uD800 after'],
  ['a lone low surrogate', '\uDFFF'],
  ['a control character', 'bell \u0007'],
  ['U+FFFF', 'end \uFFFF'],
]

describe('Producer: attribute values SQS does not allow', () => {
  it.each(BAD_VALUES)('10 jobs, one with %s: 9 sent, 1 ATTRIBUTE_INVALID with no SQS call for it', async (_, bad) => {
    const { queue, producer, sentIds } = await setup()
    const jobs = Array.from({ length: 10 }, (_, i) => ({
      id: `job-${i}`,
      body: `payload ${i}`,
      messageAttributes: { tenant: { DataType: 'String', StringValue: i === 6 ? bad : `tenant ${i}` } },
    }))
    const results = await producer.send(jobs)
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
      ...Array.from({ length: 6 }, () => 'ok'),
      'ATTRIBUTE_INVALID',
      ...Array.from({ length: 3 }, () => 'ok'),
    ])
    const failed = results[6]
    expect(failed?.ok === false && [failed.id, failed.error.retryable, failed.error.attempts]).toEqual([
      'job-6',
      false,
      0,
    ])
    // The error names the attribute, never its value.
    expect(failed?.ok === false && failed.error.message).toMatch(/^message attribute "tenant" has a character SQS/)
    expect(failed?.ok === false && failed.error.message.includes(bad)).toBe(false)
    expect(sentIds.sort()).toEqual(['0', '1', '2', '3', '4', '5', '7', '8', '9'])
    const received = await receiveAll(sqs, queue.queueUrl, 9)
    expect(received.map((m) => m.MessageAttributes?.tenant?.StringValue).sort()).toEqual(
      [0, 1, 2, 3, 4, 5, 7, 8, 9].map((i) => `tenant ${i}`),
    )
  })

  it('what SQS allows arrives intact: tab, LF, CR, the BMP outside surrogates, and pairs beyond it', async () => {
    const { queue, producer } = await setup()
    const value = 'tab\tLF\nCR\r é \uD7FF\uE000\uFFFD \uD83D\uDE00 \u{10FFFF}'
    const [result] = await producer.send({
      body: 'x',
      messageAttributes: { v: { DataType: 'String', StringValue: value } },
    })
    expect(result?.ok).toBe(true)
    const [message] = await receiveAll(sqs, queue.queueUrl, 1)
    expect(message?.MessageAttributes?.v?.StringValue).toBe(value)
  })
})
