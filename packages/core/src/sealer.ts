import type { KMSClient } from '@aws-sdk/client-kms'
import type { EncryptionContext } from './context.ts'
import { DataKeyPool, type SealedToken } from './data-key-pool.ts'
import { contentTypeOption } from './internal/option-checks.ts'
import { kmsClientFor } from './kms/client.ts'
import { KmsGateway } from './kms/gateway.ts'
import { type KmsMetrics, MetricsRecorder } from './metrics.ts'
import { contextOption, type ResolvedSealerOptions, resolveSealerOptions, type SealerOptions } from './options.ts'
import {
  bodyOf,
  type ContentType,
  encodeAttributes,
  encodePayload,
  type MessageAttributes,
  type SealablePayloadByContentType,
} from './wire.ts'

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
  readonly #kms: KMSClient
  readonly #ownsKms: boolean
  readonly #metrics = new MetricsRecorder()
  readonly #pool: DataKeyPool
  readonly #gateway: KmsGateway
  readonly #attributesByType = new Map<ContentType, MessageAttributes>()
  #closed = false

  constructor(options: SealerOptions & { readonly contentType?: Default }) {
    this.#options = resolveSealerOptions(options)
    const { kms, owned } = kmsClientFor(this.#options.kms)
    this.#kms = kms
    this.#ownsKms = owned
    this.#gateway = new KmsGateway(kms, this.#options.kms, this.#metrics, owned)
    this.#pool = new DataKeyPool(
      this.#gateway,
      {
        reuse: this.#options.reuse,
        maxAgeMs: this.#options.maxDataKeyAgeMs,
        maxMessages: this.#options.maxMessagesPerDataKey,
        maxBytes: this.#options.maxBytesPerDataKey,
        maxLiveKeys: this.#options.maxLiveDataKeys,
        maxBodyBytes: this.#options.maxBodyBytes,
      },
      this.#metrics,
    )
  }

  /** The KMS key id this sealer wraps data keys with. */
  get kmsKeyId(): string {
    return this.#options.kmsKeyId
  }

  /**
   * Seals one payload, typed by its content type (the seal's, else the
   * sealer's): a string for text, any JSON-serialisable value for json, a
   * Uint8Array for bytes. Throws PAYLOAD_UNSEALABLE for a payload its content
   * type cannot carry, MESSAGE_TOO_LARGE (before any KMS call) for a body over
   * `maxBodyBytes`, CLOSED once closed.
   */
  seal<C extends ContentType = Default>(
    payload: SealablePayloadByContentType[C],
    options?: SealOptions<C>,
  ): Promise<SealedMessage> {
    try {
      const contentType = contentTypeOption('contentType', options?.contentType, this.#options.contentType)
      const context =
        options?.encryptionContext === undefined
          ? this.#options.encryptionContext
          : contextOption('encryptionContext', options.encryptionContext)
      const plaintext = encodePayload(payload, contentType)
      const sealed = this.#pool.sealNow(this.#options.kmsKeyId, context, plaintext, options?.signal)
      // A live key seals at once: one promise per seal, no async hop.
      if (!(sealed instanceof Promise)) return Promise.resolve(this.#message(sealed, contentType, context))
      return sealed.then((token) => this.#message(token, contentType, context))
    } catch (error) {
      return Promise.reject(error)
    }
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
    return this.#metrics.snapshot()
  }

  /** Data keys alive now (at most `maxLiveDataKeys`). */
  get liveDataKeys(): number {
    return this.#pool.liveKeys
  }

  /**
   * Zero-fills every live data key and stops all KMS traffic: seals waiting on KMS (reuse or
   * not) end with CLOSED, retries stop, and no KMS request is sent once close() returns.
   * Destroys the KMS client if this sealer built it. Idempotent.
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#pool.close()
    this.#gateway.close()
    if (this.#ownsKms) this.#kms.destroy()
  }

  [Symbol.dispose](): void {
    this.close()
  }

  toJSON(): { kmsKeyId: string } {
    return { kmsKeyId: this.#options.kmsKeyId }
  }
}
