import type { KMSClient } from '@aws-sdk/client-kms'
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { createKmsClient, createSqsClient } from '@sqs-envelope/testing'
import { inject } from 'vitest'

/** The shared LocalStack (from globalSetup) and clients for it. */
export function localstack() {
  const target = inject('localstack')
  return { target, sqs: createSqsClient(target), kms: createKmsClient(target) }
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
