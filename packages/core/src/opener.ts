import type { Buffer } from 'node:buffer'
import type { EncryptionContext } from './context.ts'
import { missingContextKey } from './context.ts'
import { SqsEnvelopeError } from './errors.ts'
import { checkTokenFrame, checkTokenTime, decryptOptions, type Fernet, type FernetDecryptOptions } from './fernet.ts'
import { KmsResources } from './lifecycle.ts'
import { MessageReader } from './message-reader.ts'
import type { KmsMetrics } from './metrics.ts'
import { type OpenerOptions, type ResolvedOpenerOptions, resolveOpenerOptions } from './options.ts'
import { inspectCustom, REDACTED, redactedString } from './redaction.ts'
import { UnwrapCache } from './unwrap-cache.ts'
import type { ReceivedAttributes } from './wire/attributes.ts'
import type { BodyFields, KnownDataKey } from './wire/body.ts'
import { type ContentType, decodePayload } from './wire/payload.ts'

/** The parts of an SQS message the opener reads; an SDK `Message` fits. */
export interface EnvelopeMessage {
  readonly Body?: string | undefined
  readonly MessageAttributes?: ReceivedAttributes | undefined
}

/** Per-open options. */
export interface OpenOptions {
  /**
   * Releases this open at once with ABORTED, wherever it waits (the KMS limiter, a backoff,
   * a Decrypt). A Decrypt that other opens wait on too carries on for them; it is aborted
   * when every open waiting on it has aborted.
   */
  readonly signal?: AbortSignal
}

/**
 * An opened job. `plaintext` and `value` are the secret payload: `JSON.stringify`,
 * `util.inspect` and `String()` of this object show `[redacted]` in their place.
 */
export interface OpenedMessage<T = unknown> {
  /** The decrypted bytes. */
  readonly plaintext: Buffer
  /** The payload decoded by its content type: string (text), parsed JSON (json) or Buffer (bytes). */
  readonly value: T
  readonly contentType: ContentType
  /** ARN of the KMS key that wrapped the data key. */
  readonly kmsKeyArn: string
  /** The encryption context KMS verified for the data key. */
  readonly encryptionContext: EncryptionContext | undefined
}

const NO_OPTIONS: OpenOptions = Object.freeze({})

/**
 * Opens sealed jobs: checks the body and attributes, unwraps the data key
 * through a cache (one KMS Decrypt per data key, not per message), verifies
 * and decrypts the Fernet token. Permanent failures (`error.kind ===
 * 'permanent'`) mean the message can never be opened; transient ones may pass.
 */
export class EnvelopeOpener {
  readonly #options: ResolvedOpenerOptions
  readonly #resources: KmsResources<UnwrapCache>
  readonly #cache: UnwrapCache
  readonly #reader = new MessageReader()
  // With tokenTtlSeconds, the age check every token gets; built once.
  readonly #timeCheck: FernetDecryptOptions | undefined

  constructor(options: OpenerOptions = {}) {
    const resolved = resolveOpenerOptions(options)
    this.#options = resolved
    this.#resources = new KmsResources(
      resolved.kms,
      (gateway, metrics) =>
        new UnwrapCache(
          gateway,
          {
            maxEntries: resolved.dataKeyCacheMaxEntries,
            ttlMs: resolved.dataKeyCacheTtlMs,
            failedTtlMs: resolved.failedDataKeyCacheTtlMs,
          },
          { allowedKeyArns: resolved.allowedKmsKeyArns },
          metrics,
        ),
    )
    this.#cache = this.#resources.keys
    const ttlSeconds = resolved.tokenTtlSeconds
    this.#timeCheck = ttlSeconds === undefined ? undefined : Object.freeze({ ttlSeconds })
  }

  /**
   * Opens one SQS message: body and attributes, the checks that need no key
   * (token length, version and, with `tokenTtlSeconds`, its age), the data key
   * from the cache or KMS, then HMAC, decryption and the payload by its content
   * type. `T` types `value`. Never throws: every failure rejects with an
   * {@link SqsEnvelopeError}.
   */
  open<T = unknown>(message: EnvelopeMessage, options: OpenOptions = NO_OPTIONS): Promise<OpenedMessage<T>> {
    try {
      return this.#open<T>(message, options)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  #open<T>(message: EnvelopeMessage, options: OpenOptions): Promise<OpenedMessage<T>> {
    const body = this.#reader.body(message?.Body)
    const dataKey = this.#reader.dataKey(body)
    const { contentType, encryptionContext } = this.#reader.attributes(message.MessageAttributes)
    this.#checkRequiredContext(encryptionContext)
    // What can be read without the key is checked before any KMS call: junk costs no Decrypt.
    this.#checkTokenWithoutKey(body.tokenBytes)
    // A cached key is used at once, synchronously: no closure, no async hop.
    const hit = this.#cache.cached(dataKey.text, encryptionContext)
    if (hit) {
      const opened = openWith<T>(
        hit.fernet,
        hit.keyArn,
        body.tokenBytes,
        this.#timeCheck,
        contentType,
        encryptionContext,
      )
      return Promise.resolve(opened)
    }
    return this.#openAfterUnwrap<T>(body, dataKey, contentType, encryptionContext, options.signal)
  }

  #checkRequiredContext(encryptionContext: EncryptionContext | undefined): void {
    const required = this.#options.requiredEncryptionContext
    if (!required) return
    const missing = missingContextKey(required, encryptionContext)
    if (missing !== undefined) {
      throw new SqsEnvelopeError(
        'CONTEXT_MISMATCH',
        `the message's encryption context lacks the required value for ${JSON.stringify(missing)}`,
      )
    }
  }

  #checkTokenWithoutKey(tokenBytes: Buffer): void {
    checkTokenFrame(tokenBytes)
    if (this.#timeCheck !== undefined) checkTokenTime(tokenBytes, decryptOptions(this.#timeCheck))
  }

  /** A cache miss: the data key comes from KMS (one Decrypt shared by every open waiting for it). */
  #openAfterUnwrap<T>(
    body: BodyFields,
    dataKey: KnownDataKey,
    contentType: ContentType,
    encryptionContext: EncryptionContext | undefined,
    signal: AbortSignal | undefined,
  ): Promise<OpenedMessage<T>> {
    // The token waits for KMS: out of the scratch buffer, which the next open reuses.
    const tokenBytes = this.#reader.ownTokenBytes(body.tokenBytes)
    const timeCheck = this.#timeCheck
    return this.#cache.withKey(
      body.encryptedDataKey,
      encryptionContext,
      (fernet, kmsKeyArn) => openWith<T>(fernet, kmsKeyArn, tokenBytes, timeCheck, contentType, encryptionContext),
      signal,
      dataKey.text,
    )
  }

  /** Counters of KMS calls and cache behaviour so far. */
  metrics(): KmsMetrics {
    return this.#resources.metrics.snapshot()
  }

  /** Unwrapped data keys held now. */
  get cachedDataKeys(): number {
    return this.#cache.size
  }

  /**
   * Zero-fills every cached data key and stops all KMS traffic: opens waiting on KMS end
   * with CLOSED, retries stop, and no KMS request is sent once close() is called. Destroys
   * the KMS client if this opener built it. The work is done before close() returns (the
   * promise is already resolved), so not awaiting it is safe. Idempotent.
   */
  close(): Promise<void> {
    return this.#resources.close()
  }

  /** `await using opener = new EnvelopeOpener(…)`: {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** `using opener = new EnvelopeOpener(…)` works too: close()'s work is synchronous. */
  [Symbol.dispose](): void {
    void this.close()
  }

  toJSON(): { allowedKmsKeyArns: string[] } {
    return { allowedKmsKeyArns: [...this.#options.allowedKmsKeyArns] }
  }
}

function openWith<T>(
  fernet: Fernet,
  kmsKeyArn: string,
  tokenBytes: Buffer,
  timeCheck: FernetDecryptOptions | undefined,
  contentType: ContentType,
  encryptionContext: EncryptionContext | undefined,
): Opened<T> {
  const plaintext = fernet.decryptBytes(tokenBytes, timeCheck)
  return new Opened(plaintext, decodePayload(plaintext, contentType) as T, contentType, kmsKeyArn, encryptionContext)
}

/** An opened job whose payload never shows in `JSON.stringify`, `util.inspect` or `String()`. */
class Opened<T> implements OpenedMessage<T> {
  readonly plaintext: Buffer
  readonly value: T
  readonly contentType: ContentType
  readonly kmsKeyArn: string
  readonly encryptionContext: EncryptionContext | undefined

  constructor(
    plaintext: Buffer,
    value: T,
    contentType: ContentType,
    kmsKeyArn: string,
    encryptionContext: EncryptionContext | undefined,
  ) {
    this.plaintext = plaintext
    this.value = value
    this.contentType = contentType
    this.kmsKeyArn = kmsKeyArn
    this.encryptionContext = encryptionContext
  }

  /** The metadata only: the payload as `[redacted]`. */
  toJSON(): Record<'plaintext' | 'value', typeof REDACTED> & Omit<OpenedMessage<T>, 'plaintext' | 'value'> {
    return {
      plaintext: REDACTED,
      value: REDACTED,
      contentType: this.contentType,
      kmsKeyArn: this.kmsKeyArn,
      encryptionContext: this.encryptionContext,
    }
  }

  toString(): string {
    return redactedString('OpenedMessage', this.toJSON())
  }

  [inspectCustom](): string {
    return this.toString()
  }
}
