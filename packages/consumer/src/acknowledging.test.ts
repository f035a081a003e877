import { EventEmitter } from 'node:events'
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { SqsEnvelopeError } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import { Acknowledger } from './acknowledging.ts'
import type { ConsumerEvents, MessageRef } from './events.ts'
import { ConsumerReporter } from './reporting.ts'
import { RunSignals, STOP_GRACE_MS } from './signals.ts'
import { fakeSqs } from './test-support/fake-sqs.ts'

const queueUrl = 'http://127.0.0.1:4566/000000000000/ack'

async function setUp(count: number) {
  const sqs = fakeSqs()
  sqs.send(
    queueUrl,
    Array.from({ length: count }, (_, i) => `m${i}`),
  )
  const { Messages = [] } = await sqs.client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
  )
  sqs.calls.length = 0
  const emitter = new EventEmitter<ConsumerEvents>()
  const processed: MessageRef[] = []
  const errors: Array<{ error: Error; ids: readonly string[] | undefined }> = []
  emitter.on('message_processed', (ref) => processed.push(ref))
  emitter.on('error', (error, where) => errors.push({ error, ids: where.messageIds }))
  const reporter = new ConsumerReporter(emitter, undefined)
  const signals = new RunSignals(10_000, 1)
  const chores: Array<Promise<unknown>> = []
  const acknowledger = new Acknowledger(sqs.client, signals, reporter, (chore) => chores.push(chore))
  return { sqs, messages: Messages as Message[], processed, errors, reporter, signals, chores, acknowledger }
}

describe('Acknowledger', () => {
  it('deleteBatch: message_processed for each entry SQS deleted, one error naming the others', async () => {
    const { sqs, messages, processed, errors, acknowledger } = await setUp(3)
    const stale = { ...messages[1], ReceiptHandle: 'expired' } as Message
    await acknowledger.deleteBatch(queueUrl, [messages[0] as Message, stale, messages[2] as Message])
    expect(processed.map((r) => r.messageId)).toEqual(['m1', 'm3'])
    expect(errors).toEqual([
      {
        error: expect.objectContaining({ message: expect.stringMatching(/^DeleteMessageBatch failed for 1/) }),
        ids: ['m2'],
      },
    ])
    expect(sqs.remaining(queueUrl)).toBe(1)
  })

  it('pipelineDelete: at most one delete per slot; the next waits for it; messages finish when their delete settles', async () => {
    const { sqs, messages, reporter, acknowledger, chores } = await setUp(2)
    reporter.counts.inFlight = 2
    sqs.hold.add('DeleteMessageBatchCommand')
    const slot = { deleting: undefined as Promise<void> | undefined }
    await acknowledger.pipelineDelete(slot, queueUrl, [messages[0] as Message])
    expect(slot.deleting).toBeDefined()
    let second = false
    void acknowledger.pipelineDelete(slot, queueUrl, [messages[1] as Message]).then(() => (second = true))
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(second).toBe(false)
    expect(sqs.names()).toEqual(['DeleteMessageBatchCommand'])
    expect(chores).toHaveLength(1)
    expect(reporter.counts.inFlight).toBe(2)
  })

  it('every request carries the run signal: abortWork ends a request SQS never answers; later ones get the stop grace', async () => {
    const { sqs, messages, errors, signals, acknowledger } = await setUp(1)
    sqs.hold.add('ChangeMessageVisibilityBatchCommand')
    const pending = acknowledger.changeVisibility(queueUrl, [{ message: messages[0] as Message, seconds: 5 }])
    signals.abortWork(new SqsEnvelopeError('ABORTED', 'stop() gave up'))
    await pending
    expect(errors[0]?.error.name).toBe('AbortError')
    expect(errors[0]?.ids).toEqual(['m1'])
    const late = signals.request()
    expect(late.aborted).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS + 50))
    expect(late.aborted).toBe(true)
  })
})
