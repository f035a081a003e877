import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import { type EnvelopeMessage, isSqsEnvelopeError, type SqsEnvelopeErrorCode } from '@sqs-envelope/core'
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
