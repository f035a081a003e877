import type { Message, SQSClient } from '@aws-sdk/client-sqs'
import { Consumer } from 'sqs-consumer'
import { afterAll, describe, expect, it } from 'vitest'
import { sendRaw, waitFor } from './consumer-support.ts'
import { localstackFixture } from './support.ts'

// What @sqs-envelope/consumer relies on in sqs-consumer (behind its poller seam). If an upgrade
// breaks one of these, this file fails before users' workers do.

const { sqs, newQueue } = localstackFixture()

afterAll(() => sqs.destroy())

interface Call {
  readonly command: string
  readonly at: number
  readonly signal: AbortSignal | undefined
  readonly input: Record<string, unknown>
}

/** The real client behind a Proxy that records every property sqs-consumer touches and every send. */
function recordingClient() {
  const touched = new Set<string | symbol>()
  const calls: Call[] = []
  const client = new Proxy(sqs, {
    get(target, property, receiver) {
      touched.add(property)
      if (property === 'send') {
        return (
          command: { constructor: { name: string }; input: Record<string, unknown> },
          options?: { abortSignal?: AbortSignal },
        ) => {
          calls.push({
            command: command.constructor.name,
            at: performance.now(),
            signal: options?.abortSignal,
            input: command.input,
          })
          return target.send(command as never, options as never)
        }
      }
      return Reflect.get(target, property, receiver)
    },
  }) as SQSClient
  return { client, touched, calls }
}

describe('sqs-consumer contract (what the poller seam relies on)', () => {
  it('batch mode: every AWS call goes through the injected client’s send; heartbeat before the handler ends; option and event names', async () => {
    const queue = await newQueue({ prefix: 'contract', visibilityTimeoutSeconds: 30 })
    await sendRaw(sqs, queue.queueUrl, [
      { body: 'one', messageAttributes: { 'SqsEnvelope.Version': { DataType: 'String', StringValue: '1' } } },
      { body: 'two' },
    ])
    const { client, touched, calls } = recordingClient()
    const events: string[] = []
    const order: string[] = []
    let handlerStart = 0
    let handlerEnd = 0
    let received: Message[] = []
    const consumer = Consumer.create({
      queueUrl: queue.queueUrl,
      sqs: client,
      batchSize: 10,
      waitTimeSeconds: 1,
      visibilityTimeout: 5,
      heartbeatInterval: 1,
      messageAttributeNames: ['All'],
      messageSystemAttributeNames: ['ApproximateReceiveCount'],
      pollingWaitTimeMs: 0,
      authenticationErrorTimeout: 0,
      suppressFifoWarning: true,
      strictReturn: true,
      preReceiveMessageCallback: async () => {
        order.push('preReceive')
      },
      handleMessageBatch: async (messages) => {
        order.push('handler')
        received = messages
        handlerStart = performance.now()
        await new Promise((resolve) => setTimeout(resolve, 2_500))
        handlerEnd = performance.now()
        return messages.filter((m) => m.Body === 'one')
      },
    })
    for (const name of [
      'started',
      'stopped',
      'empty',
      'message_received',
      'message_processed',
      'response_processed',
      'error',
    ] as const) {
      consumer.on(name, () => events.push(name))
    }
    consumer.start()
    await waitFor(
      () => events.includes('response_processed') && events.includes('empty'),
      20_000,
      'a batch and an empty poll',
    )
    consumer.stop()

    expect([...touched]).toEqual(['send'])
    expect(order.slice(0, 2)).toEqual(['preReceive', 'handler'])
    const receive = calls.find((c) => c.command === 'ReceiveMessageCommand')
    expect(receive?.input).toMatchObject({
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      VisibilityTimeout: 5,
    })
    expect(receive?.signal).toBeInstanceOf(AbortSignal)
    expect(received.map((m) => m.Body).sort()).toEqual(['one', 'two'])
    expect(received.find((m) => m.Body === 'one')?.MessageAttributes?.['SqsEnvelope.Version']?.StringValue).toBe('1')
    expect(received[0]?.Attributes?.ApproximateReceiveCount).toBe('1')
    // The heartbeat renews the whole batch while the handler runs.
    const heartbeats = calls.filter(
      (c) => c.command === 'ChangeMessageVisibilityBatchCommand' && c.at > handlerStart && c.at < handlerEnd,
    )
    expect(heartbeats.length).toBeGreaterThanOrEqual(1)
    expect(heartbeats[0]?.input).toMatchObject({
      Entries: expect.arrayContaining([expect.objectContaining({ VisibilityTimeout: 5 })]),
    })
    // What the batch handler returns is deleted, in one DeleteMessageBatch.
    const deletes = calls.filter((c) => c.command === 'DeleteMessageBatchCommand')
    expect(deletes).toHaveLength(1)
    expect(deletes[0]?.input.Entries).toHaveLength(1)
    expect(calls.some((c) => c.command === 'DeleteMessageCommand')).toBe(false)
    // stop() without { abort: true } leaves the signal of deletes and visibility changes alone.
    expect(deletes[0]?.signal?.aborted).toBe(false)
    expect(events).toEqual(
      expect.arrayContaining([
        'started',
        'message_received',
        'message_processed',
        'response_processed',
        'empty',
        'stopped',
      ]),
    )
    expect(events.filter((e) => e === 'message_received')).toHaveLength(2)
    expect(events.filter((e) => e === 'message_processed')).toHaveLength(1)
    expect(events).not.toContain('error')
    expect(consumer.status).toEqual({ isRunning: false, isPolling: expect.any(Boolean) })
    await queue.delete()
  }, 60_000)
})
