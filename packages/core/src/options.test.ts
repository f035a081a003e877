import { describe, expect, it } from 'vitest'
import { DEFAULTS, resolveOpenerOptions, resolveSealerOptions } from './options.ts'
import { failure } from './test-support/failure.ts'

function optionError(fn: () => unknown): string {
  const { code, message } = failure(fn)
  expect(code).toBe('OPTION_INVALID')
  return message
}

describe('sealer options', () => {
  it('resolves every default in one place', () => {
    expect(resolveSealerOptions({ kmsKeyId: 'alias/a' })).toEqual({
      kms: {
        concurrency: DEFAULTS.kmsConcurrency,
        maxAttempts: DEFAULTS.kmsMaxAttempts,
        retryBaseDelayMs: DEFAULTS.kmsRetryBaseDelayMs,
        retryMaxDelayMs: DEFAULTS.kmsRetryMaxDelayMs,
      },
      kmsKeyId: 'alias/a',
      encryptionContext: undefined,
      contentType: 'text',
      reuse: true,
      maxDataKeyAgeMs: 300_000,
      maxMessagesPerDataKey: 10_000,
      maxBytesPerDataKey: 100 * 1024 * 1024,
    })
  })

  it.each([
    [{ kmsKeyId: '' }, 'kmsKeyId must be a non-empty KMS key id, ARN or alias; received ""'],
    [{ kmsKeyId: 'k', kmsConcurrency: 0 }, 'kmsConcurrency must be an integer ≥ 1; received 0'],
    [{ kmsKeyId: 'k', kmsConcurrency: 1.5 }, 'kmsConcurrency must be an integer ≥ 1; received 1.5'],
    [{ kmsKeyId: 'k', maxMessagesPerDataKey: -1 }, 'maxMessagesPerDataKey must be an integer ≥ 1; received -1'],
    [{ kmsKeyId: 'k', maxDataKeyAgeMs: '5' }, 'maxDataKeyAgeMs must be an integer ≥ 1; received "5"'],
    [{ kmsKeyId: 'k', reuse: 'no' }, 'reuse must be a boolean; received "no"'],
    [{ kmsKeyId: 'k', contentType: 'xml' }, 'contentType must be one of text, json, bytes; received "xml"'],
    [
      { kmsKeyId: 'k', encryptionContext: { queue: 1 } },
      'encryptionContext["queue"] must be a string under a non-empty key; received 1',
    ],
    [
      { kmsKeyId: 'k', kmsRetryBaseDelayMs: 100, kmsRetryMaxDelayMs: 10 },
      'kmsRetryMaxDelayMs must be ≥ kmsRetryBaseDelayMs (100); received 10',
    ],
  ])('rejects %j naming the option, the expectation and the value', (options, message) => {
    expect(optionError(() => resolveSealerOptions(options as never))).toBe(message)
  })
})

describe('opener options', () => {
  it('resolves every default in one place', () => {
    const resolved = resolveOpenerOptions()
    expect(resolved.allowedKmsKeyArns.size).toBe(0)
    expect(resolved).toMatchObject({
      requiredEncryptionContext: undefined,
      tokenTtlSeconds: undefined,
      dataKeyCacheMaxEntries: 1000,
      dataKeyCacheTtlMs: 600_000,
    })
  })

  it.each([
    [{ allowedKmsKeyArns: 'arn' }, 'allowedKmsKeyArns must be an array of KMS key ARNs; received "arn"'],
    [
      { allowedKmsKeyArns: ['alias/orders'] },
      'allowedKmsKeyArns[0] must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); received "alias/orders"',
    ],
    [{ dataKeyCacheMaxEntries: 0 }, 'dataKeyCacheMaxEntries must be an integer ≥ 1; received 0'],
    [{ tokenTtlSeconds: -5 }, 'tokenTtlSeconds must be an integer ≥ 1; received -5'],
    [
      { requiredEncryptionContext: ['a'] },
      'requiredEncryptionContext must be an object of string values; received an array',
    ],
  ])('rejects %j naming the option, the expectation and the value', (options, message) => {
    expect(optionError(() => resolveOpenerOptions(options as never))).toBe(message)
  })

  it('accepts ARNs in any partition', () => {
    const arns = [
      'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    ]
    expect([...resolveOpenerOptions({ allowedKmsKeyArns: arns }).allowedKmsKeyArns]).toEqual(arns)
  })
})
