import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { type EnvelopeMessage, isSqsEnvelopeError, type SqsEnvelopeErrorCode } from '@sqs-envelope/core'
import { createKmsClient, createSqsClient, createTestKey, type TestKey } from '@sqs-envelope/testing'
import { afterAll, beforeAll, inject } from 'vitest'

/** The shared LocalStack (from globalSetup) and clients for it. */
export function localstack() {
  const target = inject('localstack')
  return { target, sqs: createSqsClient(target), kms: createKmsClient(target) }
}

/**
 * The shared LocalStack, its clients and a fresh KMS key for this test file (made in beforeAll,
 * after `prepare` if given); the clients are destroyed after the file.
 */
export function localstackWithKey(prepare?: () => Promise<unknown>) {
  const resources = localstack()
  let key: TestKey | undefined
  beforeAll(async () => {
    await prepare?.()
    key = await createTestKey(resources.kms)
  }, 600_000)
  afterAll(() => {
    resources.sqs.destroy()
    resources.kms.destroy()
  })
  return {
    ...resources,
    /** The file's KMS key; available inside tests. */
    get key(): TestKey {
      if (!key) throw new Error('the test key is made in beforeAll')
      return key
    },
  }
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
