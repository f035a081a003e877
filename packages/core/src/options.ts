import type { KMSClient } from '@aws-sdk/client-kms'
import type { EncryptionContext } from './context.ts'
import { SqsEnvelopeError } from './errors.ts'
import { describeValue } from './redaction.ts'
import { CONTENT_TYPES, type ContentType } from './wire.ts'

/** How to reach KMS and how hard to lean on it. Shared by sealers and openers. */
export interface KmsOptions {
  /**
   * The KMS client. Injected clients are used as they are (and never destroyed by us);
   * their own SDK retries add to ours.
   * @defaultValue a `KMSClient` built from `region` and `endpoint`, with SDK retries off (ours apply)
   */
  readonly kms?: KMSClient
  /** Region of the KMS client built when `kms` is absent. @defaultValue the SDK's (AWS_REGION, profile) */
  readonly region?: string
  /** Endpoint of the KMS client built when `kms` is absent, e.g. LocalStack's. @defaultValue AWS's */
  readonly endpoint?: string
  /** Most KMS requests in flight at once, across all seals or opens of this object. Integer ≥ 1. @defaultValue 10 */
  readonly kmsConcurrency?: number
  /** Attempts per KMS request on throttling, 5xx and network errors, the first included. Integer ≥ 1. @defaultValue 5 */
  readonly kmsMaxAttempts?: number
  /** Base of the full-jitter exponential backoff between attempts, in ms. ≥ 0. @defaultValue 50 */
  readonly kmsRetryBaseDelayMs?: number
  /** Cap of one backoff, in ms. ≥ kmsRetryBaseDelayMs. @defaultValue 2000 */
  readonly kmsRetryMaxDelayMs?: number
}

/** Options of {@link EnvelopeSealer}. */
export interface SealerOptions extends KmsOptions {
  /** KMS key that wraps the data keys: key id, key ARN, alias name (`alias/…`) or alias ARN. Required. */
  readonly kmsKeyId: string
  /** Encryption context bound to every data key (non-secret; travels in a message attribute). @defaultValue none */
  readonly encryptionContext?: EncryptionContext
  /** How payloads are encoded when a seal does not say. @defaultValue `'text'` */
  readonly contentType?: ContentType
  /**
   * Reuse one data key for many messages within the limits below. `false`: one
   * GenerateDataKey per message, as in the original recipe.
   * @defaultValue true
   */
  readonly reuse?: boolean
  /** Retire a data key this long after KMS made it, in ms. Integer ≥ 1. @defaultValue 300000 (5 minutes) */
  readonly maxDataKeyAgeMs?: number
  /** Retire a data key after it sealed this many messages. Integer ≥ 1. @defaultValue 10000 */
  readonly maxMessagesPerDataKey?: number
  /** Retire a data key after it sealed this many plaintext bytes. Integer ≥ 1. @defaultValue 104857600 (100 MiB) */
  readonly maxBytesPerDataKey?: number
}

/** Options of {@link EnvelopeOpener}. */
export interface OpenerOptions extends KmsOptions {
  /**
   * ARNs of the KMS keys whose data keys are accepted; others are rejected with
   * KMS_KEY_NOT_ALLOWED. With exactly one, it is also passed to Decrypt as `KeyId`.
   * @defaultValue any key this principal may use
   */
  readonly allowedKmsKeyArns?: readonly string[]
  /** Pairs every message's encryption context must contain, e.g. the queue ARN. @defaultValue none */
  readonly requiredEncryptionContext?: EncryptionContext
  /**
   * Reject tokens older than this, in seconds, and tokens more than 60 s ahead of
   * now (clock skew), as Python's `Fernet.decrypt(token, ttl)`. Integer ≥ 1. Checked
   * before any KMS call, and again once the HMAC verifies.
   * @defaultValue no time check at all: neither age nor clock skew (Python's `ttl=None`)
   */
  readonly tokenTtlSeconds?: number
  /** Most unwrapped data keys cached at once (LRU). Integer ≥ 1. @defaultValue 1000 */
  readonly dataKeyCacheMaxEntries?: number
  /** How long an unwrapped data key stays cached, in ms. Integer ≥ 1. @defaultValue 600000 (10 minutes) */
  readonly dataKeyCacheTtlMs?: number
}

/**
 * The defaults, in one place.
 *
 * Why these: a data key lives at most 5 minutes and 10,000 messages, so one
 * leaked key reveals a bounded slice of traffic while KMS sees thousands of
 * times fewer requests than one key per message at any rate above a few
 * messages per second. The opener keeps keys twice as long as a sender uses
 * them, so messages that sat in the queue for a while still hit the cache.
 */
export const DEFAULTS = {
  kmsConcurrency: 10,
  kmsMaxAttempts: 5,
  kmsRetryBaseDelayMs: 50,
  kmsRetryMaxDelayMs: 2000,
  contentType: 'text',
  reuse: true,
  maxDataKeyAgeMs: 300_000,
  maxMessagesPerDataKey: 10_000,
  maxBytesPerDataKey: 100 * 1024 * 1024,
  dataKeyCacheMaxEntries: 1000,
  dataKeyCacheTtlMs: 600_000,
} as const satisfies Partial<Record<keyof SealerOptions | keyof OpenerOptions, unknown>>

function invalid(name: string, expected: string, value: unknown): SqsEnvelopeError {
  return new SqsEnvelopeError('OPTION_INVALID', `${name} must be ${expected}; received ${describeValue(value)}`)
}

/** An integer option ≥ `min`, or its default when undefined. */
export function integerOption(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(name, `an integer ≥ ${min}`, value)
  }
  return value
}

function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalid(name, 'a boolean', value)
  return value
}

export function contentTypeOption(name: string, value: unknown, fallback: ContentType): ContentType {
  if (value === undefined) return fallback
  if (!CONTENT_TYPES.includes(value as ContentType)) throw invalid(name, `one of ${CONTENT_TYPES.join(', ')}`, value)
  return value as ContentType
}

/** An encryption context: a plain object of non-empty string keys to string values. */
export function contextOption(name: string, value: unknown): EncryptionContext | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(name, 'an object of string values', value)
  }
  for (const [key, item] of Object.entries(value)) {
    if (key === '' || typeof item !== 'string') {
      throw invalid(`${name}[${JSON.stringify(key)}]`, 'a string under a non-empty key', item)
    }
  }
  return Object.freeze({ ...(value as Record<string, string>) })
}

export interface ResolvedKmsOptions {
  readonly concurrency: number
  readonly maxAttempts: number
  readonly retryBaseDelayMs: number
  readonly retryMaxDelayMs: number
}

export function resolveKmsOptions(options: KmsOptions): ResolvedKmsOptions {
  const retryBaseDelayMs = integerOption(
    'kmsRetryBaseDelayMs',
    options.kmsRetryBaseDelayMs,
    DEFAULTS.kmsRetryBaseDelayMs,
    0,
  )
  const retryMaxDelayMs = integerOption(
    'kmsRetryMaxDelayMs',
    options.kmsRetryMaxDelayMs,
    DEFAULTS.kmsRetryMaxDelayMs,
    0,
  )
  if (retryMaxDelayMs < retryBaseDelayMs) {
    throw invalid('kmsRetryMaxDelayMs', `≥ kmsRetryBaseDelayMs (${retryBaseDelayMs})`, retryMaxDelayMs)
  }
  return {
    concurrency: integerOption('kmsConcurrency', options.kmsConcurrency, DEFAULTS.kmsConcurrency),
    maxAttempts: integerOption('kmsMaxAttempts', options.kmsMaxAttempts, DEFAULTS.kmsMaxAttempts),
    retryBaseDelayMs,
    retryMaxDelayMs,
  }
}

export interface ResolvedSealerOptions {
  readonly kms: ResolvedKmsOptions
  readonly kmsKeyId: string
  readonly encryptionContext: EncryptionContext | undefined
  readonly contentType: ContentType
  readonly reuse: boolean
  readonly maxDataKeyAgeMs: number
  readonly maxMessagesPerDataKey: number
  readonly maxBytesPerDataKey: number
}

export function resolveSealerOptions(options: SealerOptions): ResolvedSealerOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options)
  if (typeof options.kmsKeyId !== 'string' || options.kmsKeyId.trim() === '') {
    throw invalid('kmsKeyId', 'a non-empty KMS key id, ARN or alias', options.kmsKeyId)
  }
  return {
    kms: resolveKmsOptions(options),
    kmsKeyId: options.kmsKeyId,
    encryptionContext: contextOption('encryptionContext', options.encryptionContext),
    contentType: contentTypeOption('contentType', options.contentType, DEFAULTS.contentType),
    reuse: booleanOption('reuse', options.reuse, DEFAULTS.reuse),
    maxDataKeyAgeMs: integerOption('maxDataKeyAgeMs', options.maxDataKeyAgeMs, DEFAULTS.maxDataKeyAgeMs),
    maxMessagesPerDataKey: integerOption(
      'maxMessagesPerDataKey',
      options.maxMessagesPerDataKey,
      DEFAULTS.maxMessagesPerDataKey,
    ),
    maxBytesPerDataKey: integerOption('maxBytesPerDataKey', options.maxBytesPerDataKey, DEFAULTS.maxBytesPerDataKey),
  }
}

export interface ResolvedOpenerOptions {
  readonly kms: ResolvedKmsOptions
  readonly allowedKmsKeyArns: ReadonlySet<string>
  readonly requiredEncryptionContext: EncryptionContext | undefined
  readonly tokenTtlSeconds: number | undefined
  readonly dataKeyCacheMaxEntries: number
  readonly dataKeyCacheTtlMs: number
}

export function resolveOpenerOptions(options: OpenerOptions = {}): ResolvedOpenerOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options)
  const arns = options.allowedKmsKeyArns ?? []
  if (!Array.isArray(arns)) throw invalid('allowedKmsKeyArns', 'an array of KMS key ARNs', arns)
  for (const [i, arn] of arns.entries()) {
    if (typeof arn !== 'string' || !/^arn:aws[a-z-]*:kms:[^:]*:\d*:key\/.+$/.test(arn)) {
      throw invalid(`allowedKmsKeyArns[${i}]`, 'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)', arn)
    }
  }
  return {
    kms: resolveKmsOptions(options),
    allowedKmsKeyArns: new Set(arns),
    requiredEncryptionContext: contextOption('requiredEncryptionContext', options.requiredEncryptionContext),
    tokenTtlSeconds:
      options.tokenTtlSeconds === undefined ? undefined : integerOption('tokenTtlSeconds', options.tokenTtlSeconds, 0),
    dataKeyCacheMaxEntries: integerOption(
      'dataKeyCacheMaxEntries',
      options.dataKeyCacheMaxEntries,
      DEFAULTS.dataKeyCacheMaxEntries,
    ),
    dataKeyCacheTtlMs: integerOption('dataKeyCacheTtlMs', options.dataKeyCacheTtlMs, DEFAULTS.dataKeyCacheTtlMs),
  }
}
