import { EnvelopeSealer, isSqsEnvelopeError } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import { PRODUCER_DEFAULTS, type ProducerOptions, resolveProducerOptions } from './options.ts'

const base = { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders', kmsKeyId: 'alias/orders' }

function refusal(options: unknown): string {
  try {
    resolveProducerOptions(options as ProducerOptions<'text'>)
  } catch (error) {
    if (isSqsEnvelopeError(error) && error.code === 'OPTION_INVALID') return error.message
    throw error
  }
  throw new Error('accepted')
}

describe('resolveProducerOptions', () => {
  it('resolves the defaults in one place', () => {
    expect(resolveProducerOptions(base)).toEqual({
      queueUrl: base.queueUrl,
      contentType: PRODUCER_DEFAULTS.contentType,
      batchSize: 10,
      concurrency: 10,
      sqsMaxAttempts: 5,
      sqsRetryBaseDelayMs: 50,
      sqsRetryMaxDelayMs: 2000,
      requestTimeoutMs: 10_000,
      contentBasedDeduplication: undefined,
      deduplicationSecret: undefined,
      traceAttributes: false,
    })
  })

  it.each([
    [{ ...base, queueUrl: 'orders' }, /^queueUrl must be an http\(s\) SQS queue URL .*; received "orders"$/],
    [
      { queueUrl: base.queueUrl },
      /^kmsKeyId must be a KMS key id, ARN or alias \(or give a sealer\); received undefined$/,
    ],
    [{ ...base, batchSize: 11 }, /^batchSize must be an integer from 1 to 10; received 11$/],
    [{ ...base, batchSize: 0 }, /^batchSize must be an integer from 1 to 10; received 0$/],
    [{ ...base, concurrency: 1.5 }, /^concurrency must be an integer ≥ 1; received 1.5$/],
    [{ ...base, sqsMaxAttempts: 0 }, /^sqsMaxAttempts must be an integer ≥ 1; received 0$/],
    [
      { ...base, sqsRetryBaseDelayMs: 100, sqsRetryMaxDelayMs: 10 },
      /^sqsRetryMaxDelayMs must be ≥ sqsRetryBaseDelayMs \(100\); received 10$/,
    ],
    // A longer timer would fire after 1 ms: the backoff would not wait at all.
    [
      { ...base, sqsRetryBaseDelayMs: 2 ** 31 },
      /^sqsRetryBaseDelayMs must be an integer from 0 to 2147483647; received 2147483648$/,
    ],
    [
      { ...base, sqsRetryMaxDelayMs: 2 ** 31 },
      /^sqsRetryMaxDelayMs must be an integer from 0 to 2147483647; received 2147483648$/,
    ],
    [{ ...base, requestTimeoutMs: 0 }, /^requestTimeoutMs must be an integer from 1 to 2147483647; received 0$/],
    [{ ...base, contentType: 'xml' }, /^contentType must be one of text, json, bytes; received "xml"$/],
    [{ ...base, contentBasedDeduplication: 'yes' }, /^contentBasedDeduplication must be a boolean; received "yes"$/],
    [
      { ...base, deduplicationSecret: 'short' },
      /^deduplicationSecret must be a string or Uint8Array of at least 16 bytes; received 5 bytes$/,
    ],
  ])('%j is refused, naming the option, the expectation and the value', (options, message) => {
    expect(refusal(options)).toMatch(message)
  })

  it('a sealer and a kmsKeyId together are refused', () => {
    const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/x', region: 'eu-west-1' })
    expect(refusal({ ...base, sealer })).toMatch(/^kmsKeyId must be absent when a sealer is given/)
    sealer.close()
  })

  it('contentBasedDeduplication without a secret says why it needs one', () => {
    expect(refusal({ ...base, contentBasedDeduplication: true })).toMatch(
      /^contentBasedDeduplication needs deduplicationSecret: the body is random ciphertext, so SQS cannot deduplicate on it, and an unkeyed hash of the payload would tell anyone who reads the queue which jobs are equal/,
    )
  })

  it('the secret never appears in a message, and is copied', () => {
    const secret = 'this secret is long enough'
    const resolved = resolveProducerOptions({ ...base, deduplicationSecret: secret, contentBasedDeduplication: true })
    expect(Buffer.from(resolved.deduplicationSecret as Uint8Array).toString()).toBe(secret)
    expect(refusal({ ...base, deduplicationSecret: 'tiny secret' })).not.toContain('tiny')
    const bytes = new Uint8Array(20).fill(1)
    const copy = resolveProducerOptions({ ...base, deduplicationSecret: bytes }).deduplicationSecret
    bytes.fill(0)
    expect(copy?.every((b) => b === 1)).toBe(true)
  })
})
