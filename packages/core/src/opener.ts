import type { KMSClient } from '@aws-sdk/client-kms'
import type { EncryptionContext } from './context.ts'
import { missingContextKey } from './context.ts'
import { SqsEnvelopeError } from './errors.ts'
import { kmsClientFor } from './kms/client.ts'
import { KmsGateway } from './kms/gateway.ts'
import { type KmsMetrics, MetricsRecorder } from './metrics.ts'
import { type OpenerOptions, type ResolvedOpenerOptions, resolveOpenerOptions } from './options.ts'
import { UnwrapCache } from './unwrap-cache.ts'
import { type ContentType, decodePayload, parseAttributes, parseBody, type ReceivedAttributes } from './wire.ts'

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
 * An opened job. `plaintext` and `value` are the secret payload: `JSON.stringify`
 * and `util.inspect` of this object show `[redacted]` in their place.
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

/**
 * Opens sealed jobs: checks the body and attributes, unwraps the data key
 * through a cache (one KMS Decrypt per data key, not per message), verifies
 * and decrypts the Fernet token. Permanent failures (`error.kind ===
 * 'permanent'`) mean the message can never be opened; transient ones may pass.
 */
export class EnvelopeOpener {
  readonly #options: ResolvedOpenerOptions
  readonly #kms: KMSClient
  readonly #ownsKms: boolean
  readonly #metrics = new MetricsRecorder()
  readonly #cache: UnwrapCache
  readonly #gateway: KmsGateway
  #closed = false

  constructor(options: OpenerOptions = {}) {
    this.#options = resolveOpenerOptions(options)
    const { kms, owned } = kmsClientFor(options)
    this.#kms = kms
    this.#ownsKms = owned
    this.#gateway = new KmsGateway(kms, this.#options.kms, this.#metrics, owned)
    this.#cache = new UnwrapCache(
      this.#gateway,
      {
        maxEntries: this.#options.dataKeyCacheMaxEntries,
        ttlMs: this.#options.dataKeyCacheTtlMs,
        failedTtlMs: this.#options.failedDataKeyCacheTtlMs,
      },
      { allowedKeyArns: this.#options.allowedKmsKeyArns },
      this.#metrics,
    )
  }

  async open<T = unknown>(message: EnvelopeMessage, options: OpenOptions = {}): Promise<OpenedMessage<T>> {
    if (typeof message?.Body !== 'string') {
      throw new SqsEnvelopeError('BODY_SHAPE', 'the SQS message has no body')
    }
    const { encryptedDataKey, token } = parseBody(message.Body)
    const { contentType, encryptionContext } = parseAttributes(message.MessageAttributes)
    const required = this.#options.requiredEncryptionContext
    if (required) {
      const missing = missingContextKey(required, encryptionContext)
      if (missing !== undefined) {
        throw new SqsEnvelopeError(
          'CONTEXT_MISMATCH',
          `the message's encryption context lacks the required value for ${JSON.stringify(missing)}`,
        )
      }
    }
    const ttlSeconds = this.#options.tokenTtlSeconds
    const { plaintext, kmsKeyArn } = await this.#cache.withKey(
      encryptedDataKey,
      encryptionContext,
      (fernet, keyArn) => ({
        plaintext: fernet.decrypt(token, ttlSeconds === undefined ? {} : { ttlSeconds }),
        kmsKeyArn: keyArn,
      }),
      options.signal,
    )
    return redacted({
      plaintext,
      value: decodePayload(plaintext, contentType) as T,
      contentType,
      kmsKeyArn,
      encryptionContext,
    })
  }

  /** Counters of KMS calls and cache behaviour so far. */
  metrics(): KmsMetrics {
    return this.#metrics.snapshot()
  }

  /** Unwrapped data keys held now. */
  get cachedDataKeys(): number {
    return this.#cache.size
  }

  /**
   * Zero-fills every cached data key and stops all KMS traffic: opens waiting on KMS end
   * with CLOSED, retries stop, and no KMS request is sent once close() returns. Destroys
   * the KMS client if this opener built it. Idempotent.
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#cache.close()
    this.#gateway.close()
    if (this.#ownsKms) this.#kms.destroy()
  }

  [Symbol.dispose](): void {
    this.close()
  }

  toJSON(): { allowedKmsKeyArns: string[] } {
    return { allowedKmsKeyArns: [...this.#options.allowedKmsKeyArns] }
  }
}

const inspectCustom = Symbol.for('nodejs.util.inspect.custom')

/** Keeps the payload out of accidental logs: serialising the object shows only its metadata. */
function redacted<T>(opened: OpenedMessage<T>): OpenedMessage<T> {
  const safe = () => ({
    plaintext: '[redacted]',
    value: '[redacted]',
    contentType: opened.contentType,
    kmsKeyArn: opened.kmsKeyArn,
    encryptionContext: opened.encryptionContext,
  })
  Object.defineProperties(opened, {
    toJSON: { value: safe, enumerable: false },
    [inspectCustom]: { value: () => `OpenedMessage ${JSON.stringify(safe())}`, enumerable: false },
  })
  return opened
}
