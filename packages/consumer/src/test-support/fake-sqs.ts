// A stand-in SQS for unit tests of the consumer's logic: a tiny queue model (visibility, receive
// counts, FIFO group locks) behind a `send` that records every command. Timers only through the
// global setTimeout, so vitest's fake timers drive it. Integration tests use LocalStack's real SQS.
import type { Message, ReceiveMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs'

export interface RecordedCall {
  readonly name: string
  // biome-ignore lint/suspicious/noExplicitAny: command inputs of every kind
  readonly input: any
  /** Date.now() when sent. */
  readonly at: number
}

interface Stored {
  readonly id: string
  readonly body: string
  readonly group: string | undefined
  receiveCount: number
  visibleAt: number
  receipt: string
  deleted: boolean
}

export interface FakeSqs {
  readonly client: SQSClient
  readonly calls: RecordedCall[]
  /** Commands (by name, e.g. `DeleteMessageBatchCommand`) that never answer until their signal aborts. */
  readonly hold: Set<string>
  /** Commands (by name) that fail with this error. */
  readonly fail: Map<string, Error>
  /** Source queue URL → its DLQ's URL (the RedrivePolicy GetQueueAttributes reports). */
  readonly deadLetterQueues: Map<string, string>
  /** The queue's default visibility timeout, in seconds. */
  visibilitySeconds: number
  /** Adds messages to a queue (FIFO when its URL ends in .fifo and a group is given). */
  send(queueUrl: string, bodies: ReadonlyArray<string | { body: string; group: string }>): void
  /** Messages not deleted, by queue. */
  remaining(queueUrl: string): number
  /** Names of the commands sent so far, in order. */
  names(): string[]
  /** Bodies sent with SendMessage to `queueUrl` (quarantine copies). */
  sentTo(queueUrl: string): string[]
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('Request aborted'), { name: 'AbortError', cause: signal.reason })
}

/** Resolves after `ms` (fake timers) or when `wake` fires; rejects when `signal` aborts. */
function wait(ms: number, signal: AbortSignal | undefined, wakers: Set<() => void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer)
      wakers.delete(done)
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }
    const onAbort = () => {
      clearTimeout(timer)
      wakers.delete(done)
      reject(abortError(signal as AbortSignal))
    }
    const timer = setTimeout(done, ms)
    wakers.add(done)
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function never(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (signal?.aborted) reject(abortError(signal))
    signal?.addEventListener('abort', () => reject(abortError(signal)), { once: true })
  })
}

export function fakeSqs(): FakeSqs {
  const queues = new Map<string, Stored[]>()
  const wakers = new Set<() => void>()
  let ids = 0
  let receipts = 0
  const queue = (url: string) => queues.get(url) ?? (queues.set(url, []).get(url) as Stored[])
  const byReceipt = (url: string, receipt: string | undefined) =>
    queue(url).find((m) => m.receipt === receipt && !m.deleted)

  const receive = async (input: ReceiveMessageCommandInput, signal: AbortSignal | undefined) => {
    const url = input.QueueUrl as string
    const deadline = Date.now() + (input.WaitTimeSeconds ?? 0) * 1000
    for (;;) {
      const now = Date.now()
      const locked = new Set(
        queue(url)
          .filter((m) => !m.deleted && m.visibleAt > now && m.group)
          .map((m) => m.group),
      )
      const picked: Stored[] = []
      for (const m of queue(url)) {
        if (picked.length >= (input.MaxNumberOfMessages ?? 1)) break
        if (m.deleted || m.visibleAt > now || (m.group !== undefined && locked.has(m.group))) continue
        picked.push(m)
      }
      if (picked.length > 0 || now >= deadline) {
        const seconds = input.VisibilityTimeout ?? fake.visibilitySeconds
        return {
          Messages: picked.map((m): Message => {
            m.receiveCount++
            m.visibleAt = now + seconds * 1000
            m.receipt = `r${++receipts}`
            const attributes: Record<string, string> = { ApproximateReceiveCount: String(m.receiveCount) }
            if (m.group !== undefined) attributes.MessageGroupId = m.group
            return { MessageId: m.id, ReceiptHandle: m.receipt, Body: m.body, Attributes: attributes }
          }),
        }
      }
      const nextVisible = Math.min(
        ...queue(url)
          .filter((m) => !m.deleted)
          .map((m) => m.visibleAt),
        deadline,
      )
      await wait(Math.max(1, nextVisible - now), signal, wakers)
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: command inputs of every kind
  const answer = (name: string, input: any) => {
    const url = input.QueueUrl as string
    if (name === 'DeleteMessageCommand') {
      const m = byReceipt(url, input.ReceiptHandle)
      if (m) m.deleted = true
      return {}
    }
    if (name === 'DeleteMessageBatchCommand' || name === 'ChangeMessageVisibilityBatchCommand') {
      const Successful: Array<{ Id: string }> = []
      const Failed: Array<{ Id: string; Code: string; SenderFault: boolean }> = []
      for (const entry of input.Entries) {
        const m = byReceipt(url, entry.ReceiptHandle)
        if (!m) Failed.push({ Id: entry.Id, Code: 'ReceiptHandleIsInvalid', SenderFault: true })
        else {
          if (name === 'DeleteMessageBatchCommand') m.deleted = true
          else m.visibleAt = Date.now() + entry.VisibilityTimeout * 1000
          Successful.push({ Id: entry.Id })
        }
      }
      for (const wake of [...wakers]) wake()
      return { Successful, Failed }
    }
    if (name === 'SendMessageCommand') {
      fake.send(url, [input.MessageBody])
      return { MessageId: `sent-${ids}` }
    }
    if (name === 'GetQueueAttributesCommand') {
      const dlq = fake.deadLetterQueues.get(url)
      if (dlq === undefined) return { Attributes: {} }
      const arn = `arn:aws:sqs:us-east-1:000000000000:${dlq.split('/').pop()}`
      return { Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 5 }) } }
    }
    if (name === 'GetQueueUrlCommand') {
      const found = [...fake.deadLetterQueues.values()].find((u) => u.endsWith(`/${input.QueueName}`))
      if (found === undefined) throw Object.assign(new Error('no such queue'), { name: 'QueueDoesNotExist' })
      return { QueueUrl: found }
    }
    throw new Error(`the fake SQS does not know ${name}`)
  }

  const fake: FakeSqs = {
    calls: [],
    hold: new Set(),
    fail: new Map(),
    deadLetterQueues: new Map(),
    visibilitySeconds: 30,
    client: {
      send: async (
        command: { constructor: { name: string }; input: unknown },
        options?: { abortSignal?: AbortSignal },
      ) => {
        const name = command.constructor.name
        const signal = options?.abortSignal
        fake.calls.push({ name, input: command.input, at: Date.now() })
        // An answer never comes before the next turn, as over a network.
        await Promise.resolve()
        if (signal?.aborted) throw abortError(signal)
        if (fake.hold.has(name)) return never(signal)
        const failure = fake.fail.get(name)
        if (failure) throw failure
        if (name === 'ReceiveMessageCommand') return receive(command.input as never, signal)
        return answer(name, command.input)
      },
      destroy: () => {},
    } as unknown as SQSClient,
    send(url, bodies) {
      for (const b of bodies) {
        const { body, group } = typeof b === 'string' ? { body: b, group: undefined } : b
        queue(url).push({ id: `m${++ids}`, body, group, receiveCount: 0, visibleAt: 0, receipt: '', deleted: false })
      }
      for (const wake of [...wakers]) wake()
    },
    remaining: (url) => queue(url).filter((m) => !m.deleted).length,
    names: () => fake.calls.map((c) => c.name),
    sentTo: (url) =>
      fake.calls
        .filter((c) => c.name === 'SendMessageCommand' && c.input.QueueUrl === url)
        .map((c) => c.input.MessageBody),
  }
  return fake
}
