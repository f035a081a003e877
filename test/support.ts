import type { KMSClient } from '@aws-sdk/client-kms'
import { createKmsClient, createSqsClient } from '@sqs-envelope/testing'
import { inject } from 'vitest'

/** The shared LocalStack (from globalSetup) and clients for it. */
export function localstack() {
  const target = inject('localstack')
  return { target, sqs: createSqsClient(target), kms: createKmsClient(target) }
}

/** Counts the requests a real KMSClient sends, per operation, retries included. */
export function countKmsCalls(kms: KMSClient): Record<string, number> {
  const counts: Record<string, number> = {}
  kms.middlewareStack.add(
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
