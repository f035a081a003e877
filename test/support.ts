import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import {
  type EnvelopeMessage,
  EnvelopeSealer,
  isSqsEnvelopeError,
  type SealerOptions,
  type SqsEnvelopeErrorCode,
} from '@sqs-envelope/core'
import {
  createKmsClient,
  createSqsClient,
  createTestKey,
  createTestQueue,
  type TestKey,
  type TestKeyOptions,
  type TestQueue,
  type TestQueueOptions,
} from '@sqs-envelope/testing'
import { afterAll, beforeAll, inject } from 'vitest'

/** The shared LocalStack (from globalSetup) and clients for it; the caller destroys them. */
export function localstack() {
  const target = inject('localstack')
  return { target, sqs: createSqsClient(target), kms: createKmsClient(target) }
}

export interface FixtureOptions {
  /** KMS keys made for the whole file in beforeAll: `key` is the first, `keys` all of them. @defaultValue 0 */
  readonly keys?: number
  /** Runs in beforeAll, before the file's keys are made (e.g. installing a Python for interop). */
  readonly prepare?: () => Promise<unknown>
}

/** Sealer options; `kms` defaults to the fixture's client, `kmsKeyId` to the key the sealer is made for. */
export type FixtureSealerOptions = Partial<SealerOptions>

/**
 * The one LocalStack fixture of a test file: the shared LocalStack, clients for it (destroyed after
 * the file), the file's KMS keys, and fresh uniquely named keys, queues (deleted after the file)
 * and sealers for single tests. Call it at the top level of the file.
 */
export function localstackFixture(options: FixtureOptions = {}) {
  const { target, sqs, kms } = localstack()
  const fileKeys: TestKey[] = []
  const queues: TestQueue[] = []
  const keyCount = options.keys ?? 0
  if (keyCount > 0 || options.prepare) {
    beforeAll(async () => {
      await options.prepare?.()
      fileKeys.push(...(await Promise.all(Array.from({ length: keyCount }, () => createTestKey(kms)))))
    }, 600_000)
  }
  afterAll(async () => {
    // a test may have deleted its queue already
    await Promise.allSettled(queues.map((queue) => queue.delete()))
    sqs.destroy()
    kms.destroy()
  })
  const fileKey = (i = 0): TestKey => {
    const key = fileKeys[i]
    if (!key) throw new Error(`the file's keys are made in beforeAll (asked for with { keys: ${i + 1} })`)
    return key
  }
  /** A sealer on `key` (the file's first key unless given) with the fixture's KMS client. */
  const newSealer = (sealerOptions: FixtureSealerOptions = {}, key: TestKey = fileKey()) =>
    new EnvelopeSealer({ kms, kmsKeyId: key.keyId, ...sealerOptions })
  /** A fresh, uniquely named queue (and DLQ when asked), deleted after the file. */
  const newQueue = async (queueOptions?: TestQueueOptions) => {
    const queue = await createTestQueue(sqs, queueOptions)
    queues.push(queue)
    return queue
  }
  /** A fresh KMS key of one test. */
  const newKey = (keyOptions?: TestKeyOptions) => createTestKey(kms, keyOptions)
  return {
    target,
    sqs,
    kms,
    /** The file's first KMS key; available inside tests. */
    get key(): TestKey {
      return fileKey()
    },
    /** The file's second KMS key (`{ keys: 2 }`); available inside tests. */
    get otherKey(): TestKey {
      return fileKey(1)
    },
    newKey,
    newQueue,
    newSealer,
    /** One test's own setup: a fresh key, a fresh queue, and a sealer on that key. */
    async newQueueWithKey(queueOptions?: TestQueueOptions, sealerOptions?: FixtureSealerOptions) {
      const [key, queue] = await Promise.all([newKey(), newQueue(queueOptions)])
      return { key, queue, sealer: newSealer(sealerOptions, key) }
    },
  }
}

/** The shared LocalStack, its clients and a fresh KMS key for this file (made after `prepare`, if given). */
export function localstackWithKey(prepare?: () => Promise<unknown>) {
  return localstackFixture({ keys: 1, ...(prepare ? { prepare } : {}) })
}

/** Counts the requests a real KMSClient sends, per operation, retries included. */
export function countKmsCalls(kms: KMSClient): Record<string, number> {
  return countCalls(kms)
}

/** Counts the requests a real AWS SDK client (KMS, SQS) sends, per command name, retries included. */
export function countCalls(client: KMSClient | SQSClient): Record<string, number> {
  const counts: Record<string, number> = {}
  ;(client as KMSClient).middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown'
      counts[name] = (counts[name] ?? 0) + 1
      return next(args)
    },
    // The deserialize step runs once per attempt, inside the SDK's retry loop.
    { step: 'deserialize', name: 'sqsEnvelopeTestCountKmsCalls' },
  )
  return counts
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const results: R[] = new Array(items.length)
  let next = 0
  let inFlight = 0
  let maxInFlight = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      try {
        results[i] = await fn(items[i] as T, i)
      } finally {
        inFlight--
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return { results, maxInFlight }
}

/** Awaits a promise that must reject with an SqsEnvelopeError; returns its code and kind. */
export async function failure(promise: Promise<unknown>): Promise<{ code: SqsEnvelopeErrorCode; kind: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isSqsEnvelopeError(error)) throw new Error(`expected an SqsEnvelopeError, got ${String(error)}`)
  return { code: error.code, kind: error.kind }
}

/** A sealed message as SQS would deliver it. */
export function toMessage(sealed: {
  body: string
  messageAttributes: EnvelopeMessage['MessageAttributes']
}): EnvelopeMessage {
  return { Body: sealed.body, MessageAttributes: sealed.messageAttributes }
}

/** Copies of every plaintext data key the client receives from KMS, to search for them afterwards. */
export function captureDataKeys(kms: KMSClient): Buffer[] {
  const dataKeys: Buffer[] = []
  kms.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args)
      if (context.commandName === GenerateDataKeyCommand.name || context.commandName === DecryptCommand.name) {
        const plaintext = (result.output as { Plaintext?: Uint8Array }).Plaintext
        if (plaintext) dataKeys.push(Buffer.from(plaintext))
      }
      return result
    },
    { step: 'initialize', name: 'captureDataKeys' },
  )
  return dataKeys
}

/**
 * Receives messages (with all attributes) until `count` arrived or a poll comes back empty.
 * `deleting`: deletes each batch after receiving it, as FIFO queues need to release a group.
 */
export async function receiveAll(sqs: SQSClient, queueUrl: string, count: number, deleting = false) {
  const received: Message[] = []
  while (received.length < count) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 300,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    )
    if (Messages.length === 0) break
    received.push(...Messages)
    if (deleting) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
        }),
      )
    }
  }
  return received
}
