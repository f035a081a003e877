import { ChangeMessageVisibilityBatchCommand, type Message } from '@aws-sdk/client-sqs'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defaultPollerFactory, type PollerHooks, type PollerOptions, SqsConsumerPoller } from './poller.ts'
import { RunSignals } from './signals.ts'
import { fakeSqs } from './test-support/fake-sqs.ts'

const queueUrl = 'http://127.0.0.1:4566/000000000000/poller'

function setUp(processBatch: (messages: Message[]) => Promise<Message[]>, stopping = () => false) {
  const sqs = fakeSqs()
  const signals = new RunSignals(10_000, 1)
  const seen = { batches: [] as string[][], errors: [] as Error[], received: [] as number[], done: 0 }
  const hooks: PollerHooks = {
    beforeReceive: async () => {},
    processBatch: (messages) => {
      seen.batches.push(messages.map((m) => m.Body ?? ''))
      return processBatch(messages)
    },
    deleted: () => {},
    batchDone: () => void seen.done++,
    empty: () => {},
    received: (_error, count) => void seen.received.push(count),
    error: (error) => void seen.errors.push(error),
  }
  const chores: Array<Promise<unknown>> = []
  const options: PollerOptions = {
    queueUrl,
    sqs: sqs.client,
    batchSize: 10,
    waitTimeSeconds: 1,
    visibilityTimeout: undefined,
    heartbeatInterval: undefined,
    messageSystemAttributeNames: ['ApproximateReceiveCount'],
    requestTimeoutMs: 10_000,
    signals,
    stopping,
    track: (chore) => chores.push(chore),
  }
  return { sqs, signals, seen, chores, poller: defaultPollerFactory(options, hooks) }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('SqsConsumerPoller (the default pollerFactory)', () => {
  it('hands each received batch to processBatch and deletes what it returns, with the run’s request signal', async () => {
    const { sqs, seen, poller } = setUp(async (messages) => messages)
    expect(poller).toBeInstanceOf(SqsConsumerPoller)
    sqs.send(queueUrl, ['a', 'b'])
    poller.start()
    await vi.advanceTimersByTimeAsync(50)
    expect(seen.batches).toEqual([['a', 'b']])
    expect(seen.received[0]).toBe(2)
    const receive = sqs.calls.find((c) => c.name === 'ReceiveMessageCommand')
    expect(receive?.input).toMatchObject({
      MessageAttributeNames: ['All'],
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
    })
    expect(sqs.names()).toContain('DeleteMessageBatchCommand')
    expect(sqs.remaining(queueUrl)).toBe(0)
    expect(seen.done).toBe(1)
    poller.stop()
  })

  it('stop: the pending long poll is aborted by the receive signal, and that is no error', async () => {
    const { seen, signals, poller } = setUp(async (messages) => messages)
    poller.start()
    await vi.advanceTimersByTimeAsync(5)
    expect(poller.isPolling).toBe(true)
    poller.stop()
    signals.stopReceiving(new Error('stopping'))
    await vi.advanceTimersByTimeAsync(5)
    expect(poller.isPolling).toBe(false)
    expect(seen.errors).toEqual([])
  })

  it('a receive answering once stopping hands its messages back (visibility 0); processBatch never sees them', async () => {
    let stopping = false
    const { sqs, seen, chores, poller } = setUp(
      async (messages) => messages,
      () => stopping,
    )
    poller.start()
    await vi.advanceTimersByTimeAsync(5)
    stopping = true
    sqs.send(queueUrl, ['late'])
    await vi.advanceTimersByTimeAsync(5)
    poller.stop()
    await Promise.all(chores)
    expect(seen.batches).toEqual([])
    const release = sqs.calls.find((c) => c.name === ChangeMessageVisibilityBatchCommand.name)
    expect(release?.input.Entries[0].VisibilityTimeout).toBe(0)
  })
})
