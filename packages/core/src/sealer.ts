import type { EncryptionContext } from './context.ts'
import { DataKeyPool, type SealedToken } from './data-key-pool.ts'
import { contentTypeOption } from './internal/option-checks.ts'
import { KmsResources } from './lifecycle.ts'
import type { KmsMetrics } from './metrics.ts'
import { contextOption, type ResolvedSealerOptions, resolveSealerOptions, type SealerOptions } from './options.ts'
import { encodeAttributes, type MessageAttributes } from './wire/attributes.ts'
import { bodyOf } from './wire/body.ts'
import { type ContentType, encodePayload, type SealablePayloadByContentType } from './wire/payload.ts'

/** Per-seal overrides; `C` is the content type, which decides what payload {@link EnvelopeSealer.seal} takes. */
export interface SealOptions<C extends ContentType = ContentType> {
  /** How to encode this payload. @defaultValue the sealer's `contentType` */
  readonly contentType?: C
  /** Replaces the sealer's encryption context for this message. @defaultValue the sealer's `encryptionContext` */
  readonly encryptionContext?: EncryptionContext
  /**
   * Releases this seal at once with ABORTED, wherever it waits (the KMS limiter, a backoff,
   * a GenerateDataKey). A GenerateDataKey that other seals wait on too carries on for them;
   * it is aborted when every seal waiting on it has aborted.
   */
  readonly signal?: AbortSignal
}

/** A sealed job, ready for SQS SendMessage: nothing in it is secret. */
export interface SealedMessage {
  /** The SQS message body (wire format v1 JSON). */
  readonly body: string
  /** Our metadata attributes (format version, content type, encryption context). */
  readonly messageAttributes: MessageAttributes
  /** ARN of the KMS key that wrapped the data key. */
  readonly kmsKeyArn: string
}

/**
 * Seals jobs for SQS: Fernet under a KMS data key, which is reused within
 * limits (age, messages, bytes) per encryption context. `Default` is the
 * sealer's `contentType` option, inferred from it (`'text'` when absent).
 *
 * @example
 * const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/orders' })
 * const { body, messageAttributes } = await sealer.seal({ orderId: 42 }, { contentType: 'json' })
 */
export class EnvelopeSealer<Default extends ContentType = 'text'> {
  readonly #options: ResolvedSealerOptions
  readonly #resources: KmsResources<DataKeyPool>
  readonly #pool: DataKeyPool
  readonly #attributesByType = new Map<ContentType, MessageAttributes>()

  constructor(options: SealerOptions & { readonly contentType?: Default }) {
    const resolved = resolveSealerOptions(options)
    this.#options = resolved
    this.#resources = new KmsResources(
      resolved.kms,
      (gateway, metrics) =>
        new DataKeyPool(
          gateway,
          {
            reuse: resolved.reuse,
            maxAgeMs: resolved.maxDataKeyAgeMs,
            maxMessages: resolved.maxMessagesPerDataKey,
            maxBytes: resolved.maxBytesPerDataKey,
            maxLiveKeys: resolved.maxLiveDataKeys,
            maxBodyBytes: resolved.maxBodyBytes,
          },
          metrics,
        ),
    )
    this.#pool = this.#resources.keys
  }

  /** The KMS key id this sealer wraps data keys with. */
  get kmsKeyId(): string {
    return this.#options.kmsKeyId
  }

  /**
   * Seals one payload, typed by its content type (the seal's, else the
   * sealer's): a string for text, any JSON-serialisable value for json, a
   * Uint8Array for bytes. Rejects with PAYLOAD_UNSEALABLE for a payload its
   * content type cannot carry, PAYLOAD_INVALID for text with a lone surrogate
   * (which UTF-8 cannot carry), MESSAGE_TOO_LARGE for a body over
   * `maxBodyBytes` (all three before any KMS call), CLOSED once closed.
   */
  seal<C extends ContentType = Default>(
    payload: SealablePayloadByContentType[C],
    options?: SealOptions<C>,
  ): Promise<SealedMessage> {
    try {
      const contentType = contentTypeOption('contentType', options?.contentType, this.#options.contentType)
      const context = this.#contextOf(options)
      const plaintext = encodePayload(payload, contentType)
      const sealed = this.#pool.sealNow(this.#options.kmsKeyId, context, plaintext, options?.signal)
      return this.#whenSealed(sealed, contentType, context)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** The seal's encryption context, else the sealer's. */
  #contextOf(options: SealOptions | undefined): EncryptionContext | undefined {
    const context = options?.encryptionContext
    return context === undefined ? this.#options.encryptionContext : contextOption('encryptionContext', context)
  }

  /** A live key seals at once (sealNow returns the token, not a promise): one promise per seal, no async hop. */
  #whenSealed(
    sealed: SealedToken | Promise<SealedToken>,
    contentType: ContentType,
    context: EncryptionContext | undefined,
  ): Promise<SealedMessage> {
    if (!(sealed instanceof Promise)) return Promise.resolve(this.#message(sealed, contentType, context))
    return sealed.then((token) => this.#message(token, contentType, context))
  }

  #message(sealed: SealedToken, contentType: ContentType, context: EncryptionContext | undefined): SealedMessage {
    return {
      body: bodyOf(sealed.encryptedDataKey, sealed.token),
      messageAttributes:
        context === this.#options.encryptionContext
          ? this.#defaultAttributes(contentType)
          : encodeAttributes(context ? { contentType, encryptionContext: context } : { contentType }),
      kmsKeyArn: sealed.keyArn,
    }
  }

  /**
   * Attributes for the sealer's own context, encoded once per content type.
   * Each seal gets its own record (callers add attributes to it); the shared values are frozen.
   */
  #defaultAttributes(contentType: ContentType): MessageAttributes {
    let encoded = this.#attributesByType.get(contentType)
    if (!encoded) {
      const context = this.#options.encryptionContext
      encoded = encodeAttributes(context ? { contentType, encryptionContext: context } : { contentType })
      for (const value of Object.values(encoded)) Object.freeze(value)
      this.#attributesByType.set(contentType, encoded)
    }
    return { ...encoded }
  }

  /** Counters of KMS calls and key reuse so far. */
  metrics(): KmsMetrics {
    return this.#resources.metrics.snapshot()
  }

  /** Data keys alive now (at most `maxLiveDataKeys`). */
  get liveDataKeys(): number {
    return this.#pool.liveKeys
  }

  /**
   * Zero-fills every live data key and stops all KMS traffic: seals waiting on KMS (reuse or
   * not) end with CLOSED, retries stop, and no KMS request is sent once close() is called.
   * Destroys the KMS client if this sealer built it. The work is done before close() returns
   * (the promise is already resolved), so not awaiting it is safe. Idempotent.
   */
  close(): Promise<void> {
    return this.#resources.close()
  }

  /** `await using sealer = new EnvelopeSealer(…)`: {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** `using sealer = new EnvelopeSealer(…)` works too: close()'s work is synchronous. */
  [Symbol.dispose](): void {
    void this.close()
  }

  toJSON(): { kmsKeyId: string } {
    return { kmsKeyId: this.#options.kmsKeyId }
  }
}
