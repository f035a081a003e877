import { describe, expect, expectTypeOf, it } from 'vitest'
import { MAX_TIMER_MS } from './internal/option-checks.ts'
import type { KmsMetrics } from './metrics.ts'
import {
  CORE_DEFAULTS,
  DEFAULTS,
  type OpenerOptions,
  resolveOpenerOptions,
  resolveSealerOptions,
  type SealerOptions,
} from './options.ts'
import type { EnvelopeSealer } from './sealer.ts'
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
        kms: undefined,
        region: undefined,
        endpoint: undefined,
        kmsConcurrency: CORE_DEFAULTS.kmsConcurrency,
        kmsMaxAttempts: CORE_DEFAULTS.kmsMaxAttempts,
        kmsRetryBaseDelayMs: CORE_DEFAULTS.kmsRetryBaseDelayMs,
        kmsRetryMaxDelayMs: CORE_DEFAULTS.kmsRetryMaxDelayMs,
        requestTimeoutMs: 10_000,
      },
      kmsKeyId: 'alias/a',
      encryptionContext: undefined,
      contentType: 'text',
      reuse: true,
      maxDataKeyAgeMs: 300_000,
      maxMessagesPerDataKey: 10_000,
      maxBytesPerDataKey: 100 * 1024 * 1024,
      maxLiveDataKeys: 1000,
      maxBodyBytes: 1_048_576,
    })
  })

  it.each([
    [{ kmsKeyId: '' }, 'kmsKeyId must be a non-empty KMS key id, ARN or alias; received ""'],
    [{ kmsKeyId: 'k', kmsConcurrency: 0 }, 'kmsConcurrency must be an integer ≥ 1; received 0'],
    [{ kmsKeyId: 'k', kmsConcurrency: 1.5 }, 'kmsConcurrency must be an integer ≥ 1; received 1.5'],
    [{ kmsKeyId: 'k', maxMessagesPerDataKey: -1 }, 'maxMessagesPerDataKey must be an integer ≥ 1; received -1'],
    [{ kmsKeyId: 'k', maxDataKeyAgeMs: '5' }, 'maxDataKeyAgeMs must be an integer from 1 to 2147483647; received "5"'],
    [{ kmsKeyId: 'k', reuse: 'no' }, 'reuse must be a boolean; received "no"'],
    [{ kmsKeyId: 'k', contentType: 'xml' }, 'contentType must be one of text, json, bytes; received "xml"'],
    [{ kmsKeyId: 'k', encryptionContext: { queue: 1 } }, 'encryptionContext must have a string value under "queue"'],
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

describe('timer options stay within what timers can do', () => {
  const TOO_LONG = 2 ** 31

  it.each([
    ['maxDataKeyAgeMs', () => resolveSealerOptions({ kmsKeyId: 'k', maxDataKeyAgeMs: TOO_LONG })],
    ['kmsRetryBaseDelayMs', () => resolveSealerOptions({ kmsKeyId: 'k', kmsRetryBaseDelayMs: TOO_LONG })],
    ['kmsRetryMaxDelayMs', () => resolveOpenerOptions({ kmsRetryMaxDelayMs: TOO_LONG })],
    ['requestTimeoutMs', () => resolveOpenerOptions({ requestTimeoutMs: TOO_LONG })],
    ['dataKeyCacheTtlMs', () => resolveOpenerOptions({ dataKeyCacheTtlMs: TOO_LONG })],
    ['failedDataKeyCacheTtlMs', () => resolveOpenerOptions({ failedDataKeyCacheTtlMs: TOO_LONG })],
  ])('%s ≥ 2^31 ms is rejected, not left to fire after 1 ms', (name, resolve) => {
    expect(optionError(resolve)).toMatch(
      new RegExp(`^${name} must be an integer from \\d+ to 2147483647; received ${TOO_LONG}$`),
    )
  })

  it('2^31 - 1 ms, the longest a timer waits, is accepted', () => {
    expect(resolveSealerOptions({ kmsKeyId: 'k', maxDataKeyAgeMs: MAX_TIMER_MS }).maxDataKeyAgeMs).toBe(MAX_TIMER_MS)
    expect(resolveOpenerOptions({ dataKeyCacheTtlMs: MAX_TIMER_MS }).dataKeyCacheTtlMs).toBe(MAX_TIMER_MS)
  })
})

describe('KMS options', () => {
  it('are resolved under their own names, the region, endpoint and client passed on as given', () => {
    expect(
      resolveOpenerOptions({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:1', requestTimeoutMs: 250 }).kms,
    ).toMatchObject({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:1', requestTimeoutMs: 250 })
  })

  it.each([
    [{ requestTimeoutMs: 0 }, 'requestTimeoutMs must be an integer from 1 to 2147483647; received 0'],
    [{ requestTimeoutMs: '10s' }, 'requestTimeoutMs must be an integer from 1 to 2147483647; received "10s"'],
  ])('rejects %j like the other timer options', (options, message) => {
    expect(optionError(() => resolveOpenerOptions(options as never))).toBe(message)
    expect(optionError(() => resolveSealerOptions({ kmsKeyId: 'k', ...options } as never))).toBe(message)
  })

  it('DEFAULTS is the deprecated alias of CORE_DEFAULTS', () => {
    expect(DEFAULTS).toBe(CORE_DEFAULTS)
    expect(CORE_DEFAULTS.requestTimeoutMs).toBe(10_000)
  })
})

describe('sealer size and key-count options', () => {
  it('maxBodyBytes is an integer from 1 to the SQS maximum (1 MiB)', () => {
    expect(resolveSealerOptions({ kmsKeyId: 'k', maxBodyBytes: 65_536 }).maxBodyBytes).toBe(65_536)
    expect(optionError(() => resolveSealerOptions({ kmsKeyId: 'k', maxBodyBytes: 1_048_577 }))).toBe(
      'maxBodyBytes must be an integer from 1 to 1048576; received 1048577',
    )
  })

  it('maxLiveDataKeys is an integer ≥ 1', () => {
    expect(optionError(() => resolveSealerOptions({ kmsKeyId: 'k', maxLiveDataKeys: 0 }))).toBe(
      'maxLiveDataKeys must be an integer ≥ 1; received 0',
    )
  })

  it('failedDataKeyCacheTtlMs may be 0 (off)', () => {
    expect(resolveOpenerOptions({ failedDataKeyCacheTtlMs: 0 }).failedDataKeyCacheTtlMs).toBe(0)
    expect(resolveOpenerOptions().failedDataKeyCacheTtlMs).toBe(60_000)
  })
})

describe('__proto__ as a context key is rejected on both sides', () => {
  // JSON.parse (and computed keys) make "__proto__" an own data property, as a received attribute would.
  const withProto = JSON.parse('{"__proto__": "x", "queue": "q"}') as Record<string, string>

  it('by the sealer, for its own and per-seal contexts', () => {
    expect(optionError(() => resolveSealerOptions({ kmsKeyId: 'k', encryptionContext: withProto }))).toBe(
      'encryptionContext must not have the key "__proto__"',
    )
  })

  it("by the opener, for the pairs it requires (the context attribute: see wire's parseAttributes)", () => {
    expect(optionError(() => resolveOpenerOptions({ requiredEncryptionContext: withProto }))).toBe(
      'requiredEncryptionContext must not have the key "__proto__"',
    )
  })
})

describe('option types', () => {
  it('the new options are optional numbers, and the sealer exposes its live key count', () => {
    expectTypeOf<SealerOptions['maxBodyBytes']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<SealerOptions['maxLiveDataKeys']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<OpenerOptions['failedDataKeyCacheTtlMs']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<EnvelopeSealer['liveDataKeys']>().toEqualTypeOf<number>()
    expectTypeOf<KmsMetrics['failedDataKeyCacheHits']>().toEqualTypeOf<number>()
  })
})
