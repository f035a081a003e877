import type { KMSClient } from '@aws-sdk/client-kms'
import { contextProblem, type EncryptionContext } from './context.ts'
import { SqsEnvelopeError } from './errors.ts'
import {
  booleanOption,
  contentTypeOption,
  integerOption,
  invalidOption,
  timerOption,
} from './internal/option-checks.ts'
import { MAX_BODY_BYTES } from './wire/body.ts'
import type { ContentType } from './wire/payload.ts'

// Every option that becomes a timer stops at 2147483647 ms: why, once, on MAX_TIMER_MS
// (internal/option-checks.ts) and under "Timers" in the README.

/** How to reach KMS and how hard to lean on it. Shared by sealers and openers. */
export interface KmsOptions {
  /**
   * The KMS client. An injected client is used as it is and never destroyed by us. Exactly
   * one layer retries, never both: an injected client that retries itself (SDK `maxAttempts`
   * above 1; the SDK's default is 3) keeps its own retry strategy, and `kmsMaxAttempts` and
   * the `kmsRetry*` delays are ignored; one built with `maxAttempts: 1` gets ours. A client
   * we build has SDK retries off, gets ours, and names this library in its user agent.
   * @defaultValue a `KMSClient` built from `region` and `endpoint`
   */
  readonly kms?: KMSClient
  /** Region of the KMS client built when `kms` is absent. @defaultValue the SDK's (AWS_REGION, profile) */
  readonly region?: string
  /** Endpoint of the KMS client built when `kms` is absent, e.g. LocalStack's. @defaultValue AWS's */
  readonly endpoint?: string
  /** Most KMS requests in flight at once, across all seals or opens of this object. Integer ≥ 1. @defaultValue 10 */
  readonly kmsConcurrency?: number
  /**
   * Attempts per KMS request on throttling, 5xx and network errors, the first included.
   * Integer ≥ 1. Not for an injected client that retries itself (see `kms`). @defaultValue 5
   */
  readonly kmsMaxAttempts?: number
  /**
   * Base of the exponential backoff between attempts (equal jitter: half fixed, half random), in
   * ms. Integer from 0 to 2147483647. Applies with `kmsMaxAttempts`. @defaultValue 50
   */
  readonly kmsRetryBaseDelayMs?: number
  /** Cap of one backoff, in ms. Integer from kmsRetryBaseDelayMs to 2147483647. @defaultValue 2000 */
  readonly kmsRetryMaxDelayMs?: number
  /**
   * Longest wait for one KMS request, in ms, also on an injected client; a request that runs
   * out counts as KMS_UNAVAILABLE (transient, retried). Integer from 1 to 2147483647.
   * @defaultValue 10000
   */
  readonly requestTimeoutMs?: number
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
  /**
   * Retire a data key this long after KMS made it, in ms. Integer from 1 to 2147483647.
   * @defaultValue 300000 (5 minutes)
   */
  readonly maxDataKeyAgeMs?: number
  /** Retire a data key after it sealed this many messages. Integer ≥ 1. @defaultValue 10000 */
  readonly maxMessagesPerDataKey?: number
  /**
   * Retire a data key after it sealed this many bytes, counted as AES ciphertext: each payload's
   * UTF-8 bytes rounded up to the next 16-byte block (PKCS7 adds 1 to 16). Integer ≥ 1.
   * @defaultValue 104857600 (100 MiB)
   */
  readonly maxBytesPerDataKey?: number
  /**
   * Most data keys alive at once, one per (KMS key, encryption context), least recently used
   * retired first (zero-filled). Bounds memory when contexts vary per message. Integer ≥ 1.
   * @defaultValue 1000
   */
  readonly maxLiveDataKeys?: number
  /**
   * Largest SQS body a seal may produce, in UTF-8 bytes; a larger one fails with
   * `MESSAGE_TOO_LARGE` before any KMS call or key budget is spent. Integer from 1 to
   * 1048576 (the SQS maximum, and the most an opener accepts). Producers pass their
   * queue's `MaximumMessageSize` less the attributes they send.
   * @defaultValue 1048576 (1 MiB)
   */
  readonly maxBodyBytes?: number
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
  /**
   * How long an unwrapped data key stays cached, in ms. Integer from 1 to 2147483647.
   * @defaultValue 600000 (10 minutes)
   */
  readonly dataKeyCacheTtlMs?: number
  /**
   * How long a data key that KMS refused for good (invalid ciphertext, wrong or unknown key,
   * not in `allowedKmsKeyArns`, malformed request) is remembered, in ms, so that more
   * messages with the same junk fail at once without another Decrypt. At most
   * `dataKeyCacheMaxEntries` are remembered. Refusals that an operator can undo (access
   * denied, key disabled) and transient failures are never remembered. Integer from
   * 0 (off) to 2147483647.
   * @defaultValue 60000 (1 minute)
   */
  readonly failedDataKeyCacheTtlMs?: number
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
export const CORE_DEFAULTS = {
  kmsConcurrency: 10,
  kmsMaxAttempts: 5,
  kmsRetryBaseDelayMs: 50,
  kmsRetryMaxDelayMs: 2000,
  requestTimeoutMs: 10_000,
  contentType: 'text',
  reuse: true,
  maxDataKeyAgeMs: 300_000,
  maxMessagesPerDataKey: 10_000,
  maxBytesPerDataKey: 100 * 1024 * 1024,
  dataKeyCacheMaxEntries: 1000,
  dataKeyCacheTtlMs: 600_000,
  maxLiveDataKeys: 1000,
  maxBodyBytes: MAX_BODY_BYTES,
  failedDataKeyCacheTtlMs: 60_000,
} as const satisfies Partial<Record<keyof SealerOptions | keyof OpenerOptions, unknown>>

/** @deprecated Renamed {@link CORE_DEFAULTS} (one naming pattern across the packages); removed in the next release. */
export const DEFAULTS = CORE_DEFAULTS

/** An encryption context, by the rules of {@link contextProblem} (the same rules the opener applies). */
export function contextOption(name: string, value: unknown): EncryptionContext | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(name, 'an object of string values', value)
  }
  // The problem names the offending key; values are not quoted (a context may be long).
  const problem = contextProblem(value)
  if (problem !== undefined) throw new SqsEnvelopeError('OPTION_INVALID', `${name} ${problem}`)
  return Object.freeze({ ...(value as Record<string, string>) })
}

/** The KMS options, resolved under their own names; `kms`, `region` and `endpoint` go to the SDK as given. */
export interface ResolvedKmsOptions {
  readonly kms: KMSClient | undefined
  readonly region: string | undefined
  readonly endpoint: string | undefined
  readonly kmsConcurrency: number
  readonly kmsMaxAttempts: number
  readonly kmsRetryBaseDelayMs: number
  readonly kmsRetryMaxDelayMs: number
  readonly requestTimeoutMs: number
}

export function resolveKmsOptions(options: KmsOptions): ResolvedKmsOptions {
  const kmsRetryBaseDelayMs = timerOption(
    'kmsRetryBaseDelayMs',
    options.kmsRetryBaseDelayMs,
    CORE_DEFAULTS.kmsRetryBaseDelayMs,
    0,
  )
  const kmsRetryMaxDelayMs = timerOption(
    'kmsRetryMaxDelayMs',
    options.kmsRetryMaxDelayMs,
    CORE_DEFAULTS.kmsRetryMaxDelayMs,
    0,
  )
  if (kmsRetryMaxDelayMs < kmsRetryBaseDelayMs) {
    throw invalidOption('kmsRetryMaxDelayMs', `≥ kmsRetryBaseDelayMs (${kmsRetryBaseDelayMs})`, kmsRetryMaxDelayMs)
  }
  return {
    kms: options.kms,
    region: options.region,
    endpoint: options.endpoint,
    kmsConcurrency: integerOption('kmsConcurrency', options.kmsConcurrency, CORE_DEFAULTS.kmsConcurrency),
    kmsMaxAttempts: integerOption('kmsMaxAttempts', options.kmsMaxAttempts, CORE_DEFAULTS.kmsMaxAttempts),
    kmsRetryBaseDelayMs,
    kmsRetryMaxDelayMs,
    requestTimeoutMs: timerOption('requestTimeoutMs', options.requestTimeoutMs, CORE_DEFAULTS.requestTimeoutMs),
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
  readonly maxLiveDataKeys: number
  readonly maxBodyBytes: number
}

export function resolveSealerOptions(options: SealerOptions): ResolvedSealerOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options)
  if (typeof options.kmsKeyId !== 'string' || options.kmsKeyId.trim() === '') {
    throw invalidOption('kmsKeyId', 'a non-empty KMS key id, ARN or alias', options.kmsKeyId)
  }
  return {
    kms: resolveKmsOptions(options),
    kmsKeyId: options.kmsKeyId,
    encryptionContext: contextOption('encryptionContext', options.encryptionContext),
    contentType: contentTypeOption('contentType', options.contentType, CORE_DEFAULTS.contentType),
    reuse: booleanOption('reuse', options.reuse, CORE_DEFAULTS.reuse),
    maxDataKeyAgeMs: timerOption('maxDataKeyAgeMs', options.maxDataKeyAgeMs, CORE_DEFAULTS.maxDataKeyAgeMs),
    maxMessagesPerDataKey: integerOption(
      'maxMessagesPerDataKey',
      options.maxMessagesPerDataKey,
      CORE_DEFAULTS.maxMessagesPerDataKey,
    ),
    maxBytesPerDataKey: integerOption(
      'maxBytesPerDataKey',
      options.maxBytesPerDataKey,
      CORE_DEFAULTS.maxBytesPerDataKey,
    ),
    maxLiveDataKeys: integerOption('maxLiveDataKeys', options.maxLiveDataKeys, CORE_DEFAULTS.maxLiveDataKeys),
    maxBodyBytes: integerOption('maxBodyBytes', options.maxBodyBytes, CORE_DEFAULTS.maxBodyBytes, 1, MAX_BODY_BYTES),
  }
}

export interface ResolvedOpenerOptions {
  readonly kms: ResolvedKmsOptions
  readonly allowedKmsKeyArns: ReadonlySet<string>
  readonly requiredEncryptionContext: EncryptionContext | undefined
  readonly tokenTtlSeconds: number | undefined
  readonly dataKeyCacheMaxEntries: number
  readonly dataKeyCacheTtlMs: number
  readonly failedDataKeyCacheTtlMs: number
}

export function resolveOpenerOptions(options: OpenerOptions = {}): ResolvedOpenerOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options)
  const arns = options.allowedKmsKeyArns ?? []
  if (!Array.isArray(arns)) throw invalidOption('allowedKmsKeyArns', 'an array of KMS key ARNs', arns)
  for (const [i, arn] of arns.entries()) {
    if (typeof arn !== 'string' || !/^arn:aws[a-z-]*:kms:[^:]*:\d*:key\/.+$/.test(arn)) {
      throw invalidOption(`allowedKmsKeyArns[${i}]`, 'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)', arn)
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
      CORE_DEFAULTS.dataKeyCacheMaxEntries,
    ),
    dataKeyCacheTtlMs: timerOption('dataKeyCacheTtlMs', options.dataKeyCacheTtlMs, CORE_DEFAULTS.dataKeyCacheTtlMs),
    failedDataKeyCacheTtlMs: timerOption(
      'failedDataKeyCacheTtlMs',
      options.failedDataKeyCacheTtlMs,
      CORE_DEFAULTS.failedDataKeyCacheTtlMs,
      0,
    ),
  }
}
