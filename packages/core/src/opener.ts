import { Buffer } from 'node:buffer'
import type { KMSClient } from '@aws-sdk/client-kms'
import { BEYOND_LATIN1 } from './base64.ts'
import type { EncryptionContext } from './context.ts'
import { missingContextKey } from './context.ts'
import { SqsEnvelopeError } from './errors.ts'
import { checkTokenFrame, checkTokenTime, decryptOptions, type Fernet, type FernetDecryptOptions } from './fernet.ts'
import { kmsClientFor } from './kms/client.ts'
import { KmsGateway } from './kms/gateway.ts'
import { type KmsMetrics, MetricsRecorder } from './metrics.ts'
import { type OpenerOptions, type ResolvedOpenerOptions, resolveOpenerOptions } from './options.ts'
import { inspectCustom, REDACTED, redactedString } from './redaction.ts'
import { UnwrapCache } from './unwrap-cache.ts'
import {
  type ContentType,
  decodePayload,
  type KnownContext,
  type KnownDataKey,
  type ReceivedAttributes,
  readAttributes,
  readBody,
} from './wire.ts'

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

// Tokens up to this size (a job of about 64 KiB) are decoded into the opener's scratch buffer.
const TOKEN_SCRATCH_BYTES = 65_536 + 1024

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
  // The data key of the last body read, as text and blob.
  #lastDataKey: KnownDataKey | undefined
  // Tokens are decoded into this (no allocation per message) and used before the open returns;
  // one that waits for KMS is copied out. Ciphertext only: nothing in it is secret.
  readonly #scratch = Buffer.allocUnsafeSlow(TOKEN_SCRATCH_BYTES)
  // The encryption context of the last message that had one, as text and frozen object.
  #lastContext: KnownContext | undefined
  #closed = false

  constructor(options: OpenerOptions = {}) {
    this.#options = resolveOpenerOptions(options)
    const { kms, owned } = kmsClientFor(this.#options.kms)
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
    if (typeof message?.Body !== 'string') {
      throw new SqsEnvelopeError('BODY_SHAPE', 'the SQS message has no body')
    }
    const body = readBody(message.Body, this.#lastDataKey, this.#scratch)
    let dataKey = this.#lastDataKey
    if (body.encryptedDataKey !== dataKey?.blob) {
      // Messages come in runs sealed under one data key: the next body with this text skips its decode.
      // A copy of the text, since a slice would keep the whole body alive; the cache keeps it too.
      dataKey = { text: ownCopy(body.dataKeyText), blob: body.encryptedDataKey }
      this.#lastDataKey = dataKey
    }
    const { contentType, encryptionContext, contextText } = readAttributes(
      message.MessageAttributes,
      this.#lastContext,
      true,
    )
    if (encryptionContext !== undefined && encryptionContext !== this.#lastContext?.context) {
      // Like the data key: the next message with this context text reuses the frozen context (and
      // its cache id) instead of parsing, checking and canonicalising it again. A copy of the text,
      // since the attribute value may share memory with a larger response.
      this.#lastContext = { text: ownCopy(contextText as string), context: encryptionContext }
    }
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
    // What can be read without the key is checked before any KMS call: junk costs no Decrypt.
    const tokenBytes = body.tokenBytes
    checkTokenFrame(tokenBytes)
    const ttlSeconds = this.#options.tokenTtlSeconds
    const timeCheck: FernetDecryptOptions | undefined = ttlSeconds === undefined ? undefined : { ttlSeconds }
    if (ttlSeconds !== undefined) checkTokenTime(tokenBytes, decryptOptions(timeCheck))
    // A cached key is used at once, synchronously: no closure, no async hop. The same text object
    // each time is the cheapest Map key to look up (V8 keeps its hash; equal objects compare at once).
    const hit = this.#cache.cached(dataKey.text, encryptionContext)
    if (hit) {
      return Promise.resolve(openWith<T>(hit.fernet, hit.keyArn, tokenBytes, timeCheck, contentType, encryptionContext))
    }
    // The token waits for KMS: out of the scratch buffer, which the next open reuses.
    const ownTokenBytes = tokenBytes.buffer === this.#scratch.buffer ? Buffer.from(tokenBytes) : tokenBytes
    return this.#cache.withKey(
      body.encryptedDataKey,
      encryptionContext,
      (fernet, kmsKeyArn) => openWith<T>(fernet, kmsKeyArn, ownTokenBytes, timeCheck, contentType, encryptionContext),
      options.signal,
      dataKey.text,
    )
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

// A string that shares no memory with a larger one: V8's JSON.parse returns slices of the response
// text, and one kept here would keep a whole response alive. Both encodings copy code units as they are.
function ownCopy(text: string): string {
  const encoding = BEYOND_LATIN1.test(text) ? 'utf16le' : 'latin1'
  return Buffer.from(text, encoding).toString(encoding)
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
