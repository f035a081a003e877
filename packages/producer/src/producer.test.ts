import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { isSqsEnvelopeError } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import { Producer } from './producer.ts'

const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders'

/** A stand-in SQS client whose GetQueueAttributes answers when told to, or fails when its request's signal aborts. */
function pendingAttributes() {
  let answer: () => void = () => {}
  let calls = 0
  const sqs = {
    send(command: unknown, options?: { abortSignal?: AbortSignal }) {
      if (!(command instanceof GetQueueAttributesCommand)) throw new Error('unexpected command')
      calls++
      return new Promise((resolve, reject) => {
        answer = () => resolve({ Attributes: { MaximumMessageSize: '262144' } })
        if (options?.abortSignal?.aborted) reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))
        options?.abortSignal?.addEventListener('abort', () =>
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
        )
      })
    },
  } as unknown as SQSClient
  return { sqs, answer: () => answer(), calls: () => calls }
}

describe('Producer: the shared read of the queue attributes', () => {
  it("one send's abort does not fail the other sends waiting for the same read", async () => {
    const { sqs, answer, calls } = pendingAttributes()
    const producer = new Producer({ queueUrl, kmsKeyId: 'alias/orders', region: 'eu-west-1', sqs })
    const controller = new AbortController()
    const aborted = producer.send('a', { signal: controller.signal }).catch((error: unknown) => error)
    const other = producer.send([])
    controller.abort()
    const error = await aborted
    expect(isSqsEnvelopeError(error) && error.code).toBe('ABORTED')
    answer()
    await expect(other).resolves.toEqual([])
    expect(calls()).toBe(1)
    await producer.close()
  }, 5000)

  it('an already aborted send rejects without a request', async () => {
    const { sqs, calls } = pendingAttributes()
    const producer = new Producer({ queueUrl, kmsKeyId: 'alias/orders', region: 'eu-west-1', sqs })
    const error = await producer.send('a', { signal: AbortSignal.abort() }).catch((e: unknown) => e)
    expect(isSqsEnvelopeError(error) && error.code).toBe('ABORTED')
    expect(calls()).toBe(0)
    await producer.close()
  }, 5000)
})
