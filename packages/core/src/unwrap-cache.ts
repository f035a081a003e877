import { encodeUrlsafeBase64 } from './base64.ts'
import type { EncryptionContext } from './context.ts'
import { canonicalContext, kmsContext } from './context.ts'
import { createFernet } from './data-key-pool.ts'
import { isSqsEnvelopeError, SqsEnvelopeError, type SqsEnvelopeErrorCode } from './errors.ts'
import type { Fernet } from './fernet.ts'
import { publishUnwrapCache } from './kms/channel.ts'
import type { KmsGateway, UnwrappedKey } from './kms/gateway.ts'
import { closedError } from './lifecycle.ts'
import type { MetricsRecorder } from './metrics.ts'
import { SingleFlight } from './single-flight.ts'

/** Bounds of the receiving-side cache of unwrapped data keys. */
export interface UnwrapCacheLimits {
  readonly maxEntries: number
  readonly ttlMs: number
  /** How long a data key KMS refused for good is remembered; 0: never. At most `maxEntries` are. */
  readonly failedTtlMs: number
}

// Refusals about the blob itself, which no retry or redelivery can change. Access denied
// and disabled keys are left out: an operator can fix those at any moment.
const REMEMBERED_REFUSALS: ReadonlySet<SqsEnvelopeErrorCode> = new Set([
  'KMS_INVALID_CIPHERTEXT',
  'KMS_INCORRECT_KEY',
  'KMS_KEY_NOT_FOUND',
  'KMS_KEY_NOT_ALLOWED',
  'KMS_REQUEST_INVALID',
])

interface Refusal {
  readonly code: SqsEnvelopeErrorCode
  readonly message: string
  readonly expiresAt: number
}

/** Which data keys the receiving side accepts. */
export interface UnwrapPolicy {
  /** ARNs of the KMS keys whose data keys are accepted; empty: any key the caller may use. */
  readonly allowedKeyArns: ReadonlySet<string>
}

/**
 * An {@link UnwrappedKey} ready to open with: the Fernet built from its plaintext in place of
 * the plaintext (which is zero-filled once the Fernet has it).
 */
export type UsableKey = Omit<UnwrappedKey, 'plaintext'> & { readonly fernet: Fernet }

interface CachedKey extends UsableKey {
  readonly timer: NodeJS.Timeout
  evicted: boolean
}

/**
 * Receiving side: data keys unwrapped by KMS Decrypt, cached by the
 * CiphertextBlob's base64 as the message spells it and the encryption context
 * (a hit decodes nothing), LRU with a TTL. Not `lru-cache`:
 * a Map in insertion order is the whole LRU here, and each entry's own timer
 * zero-fills its key on time even when no message comes (lru-cache purges
 * stale entries lazily unless `ttlAutopurge`): one dependency fewer on a key path. Concurrent misses
 * on one blob make one Decrypt (single-flight). Evicted keys are zero-filled.
 * The Fernet work runs synchronously with the lookup, so an eviction cannot
 * zero a key while a message is being opened with it. Data keys that KMS
 * refused for good are remembered for a short while (bounded like the cache),
 * so a flood of the same junk costs one Decrypt.
 *
 * Not `lru-cache`: entries need zero-filling on every way out (LRU, TTL,
 * close) and a TTL timer each, single-flight shares the map, and the whole
 * cache is a Map in recency order: a dependency would not remove any of this code.
 */
export class UnwrapCache {
  readonly #gateway: KmsGateway
  readonly #limits: UnwrapCacheLimits
  readonly #policy: UnwrapPolicy
  readonly #metrics: MetricsRecorder
  // Map order is recency order: a hit moves its entry to the end.
  readonly #entries = new Map<string, CachedKey>()
  // The entry last added or moved to the end of #entries.
  #newest: CachedKey | undefined
  readonly #unwraps = new SingleFlight<CachedKey>()
  // Data keys KMS refused for good, oldest first; expired ones are dropped when met.
  readonly #refused = new Map<string, Refusal>()
  #lastId:
    | { readonly dataKeyText: string; readonly context: EncryptionContext | undefined; readonly id: string }
    | undefined
  #closed = false

  constructor(gateway: KmsGateway, limits: UnwrapCacheLimits, policy: UnwrapPolicy, metrics: MetricsRecorder) {
    this.#gateway = gateway
    this.#limits = limits
    this.#policy = policy
    this.#metrics = metrics
  }

  /** Number of data keys held now. */
  get size(): number {
    return this.#entries.size
  }

  /**
   * Runs `use` with the Fernet for this data key, unwrapping it through KMS on a miss.
   * `use` must be synchronous: the key is only guaranteed alive while it runs.
   * `dataKeyText` is the blob's base64 as the message spelled it (default: urlsafe);
   * the cache goes by that text, so a second spelling of one blob costs one more Decrypt.
   * The cache keeps the text: pass one that is not a slice of a larger string (a body).
   */
  async withKey<T>(
    encryptedDataKey: Uint8Array,
    context: EncryptionContext | undefined,
    use: (fernet: Fernet, keyArn: string) => T,
    signal?: AbortSignal,
    dataKeyText: string = encodeUrlsafeBase64(encryptedDataKey),
  ): Promise<T> {
    const id = this.#idOf(dataKeyText, context)
    for (;;) {
      const cached = this.#hit(id)
      if (cached) return use(cached.fernet, cached.keyArn)
      this.#throwIfRefused(id)
      const { promise, joined } = this.#unwraps.run(
        id,
        (shared) => this.#unwrap(id, encryptedDataKey, context, shared),
        signal,
      )
      if (joined) this.#metrics.increment('singleFlightJoins')
      const entry = await promise
      // Other opens may have pushed it out of a small cache meanwhile; then look again.
      if (!entry.evicted) {
        this.#metrics.increment(joined ? 'cacheHits' : 'cacheMisses')
        publishUnwrapCache(joined)
        return use(entry.fernet, entry.keyArn)
      }
    }
  }

  /**
   * The cached key for this data key's base64 text (as the message spelled it) and
   * context, counted as a hit; `undefined` on a miss (then call {@link withKey}).
   * Use it synchronously: the key is only guaranteed alive until the next await.
   */
  cached(dataKeyText: string, context: EncryptionContext | undefined): UsableKey | undefined {
    return this.#hit(this.#idOf(dataKeyText, context))
  }

  // Runs of messages share one data key text and one (frozen) context: their id is built once,
  // and the same string each time is the cheapest Map key (V8 keeps its hash).
  #idOf(dataKeyText: string, context: EncryptionContext | undefined): string {
    const last = this.#lastId
    if (last !== undefined && last.dataKeyText === dataKeyText && last.context === context) return last.id
    const id = cacheId(dataKeyText, context)
    if (context === undefined || Object.isFrozen(context)) this.#lastId = { dataKeyText, context, id }
    return id
  }

  #hit(id: string): CachedKey | undefined {
    if (this.#closed) throw closedError('opener')
    const cached = this.#entries.get(id)
    if (!cached) return undefined
    // Map order is recency order; the newest entry (one data key per burst) needs no move.
    if (cached !== this.#newest) {
      this.#entries.delete(id)
      this.#entries.set(id, cached)
      this.#newest = cached
    }
    this.#metrics.increment('cacheHits')
    publishUnwrapCache(true)
    return cached
  }

  /** Zero-fills and drops every cached key. Later calls throw CLOSED. */
  close(): void {
    this.#closed = true
    for (const id of [...this.#entries.keys()]) this.#evict(id)
    this.#refused.clear()
  }

  #throwIfRefused(id: string): void {
    const refusal = this.#refused.get(id)
    if (!refusal) return
    if (Date.now() >= refusal.expiresAt) {
      this.#refused.delete(id)
      return
    }
    this.#metrics.increment('failedDataKeyCacheHits')
    throw new SqsEnvelopeError(refusal.code, `${refusal.message} (remembered; no KMS call made)`)
  }

  #remember(id: string, error: unknown): void {
    if (this.#limits.failedTtlMs === 0 || !isSqsEnvelopeError(error) || !REMEMBERED_REFUSALS.has(error.code)) return
    this.#refused.delete(id)
    this.#refused.set(id, {
      code: error.code,
      message: error.message,
      expiresAt: Date.now() + this.#limits.failedTtlMs,
    })
    while (this.#refused.size > this.#limits.maxEntries) {
      const oldest = this.#refused.keys().next().value
      if (oldest === undefined) break
      this.#refused.delete(oldest)
    }
  }

  async #unwrap(
    id: string,
    encryptedDataKey: Uint8Array,
    context: EncryptionContext | undefined,
    signal?: AbortSignal,
  ): Promise<CachedKey> {
    const allowed = this.#policy.allowedKeyArns
    // With exactly one allowed key, KMS itself refuses any other (IncorrectKeyException).
    const keyId = allowed.size === 1 ? [...allowed][0] : undefined
    const key = await this.#gateway.decrypt(encryptedDataKey, kmsContext(context), keyId, signal).catch((error) => {
      this.#remember(id, error)
      throw error
    })
    if (allowed.size > 0 && !allowed.has(key.keyArn)) {
      key.plaintext.fill(0)
      const error = new SqsEnvelopeError(
        'KMS_KEY_NOT_ALLOWED',
        `the data key was encrypted under ${key.keyArn}, which is not in allowedKmsKeyArns`,
      )
      this.#remember(id, error)
      throw error
    }
    const fernet = createFernet(key.plaintext)
    if (this.#closed) {
      fernet.destroy()
      throw closedError('opener')
    }
    const timer = setTimeout(() => this.#evict(id), this.#limits.ttlMs)
    timer.unref()
    const entry: CachedKey = { fernet, keyArn: key.keyArn, timer, evicted: false }
    this.#entries.set(id, entry)
    this.#newest = entry
    while (this.#entries.size > this.#limits.maxEntries) {
      const oldest = this.#entries.keys().next().value
      if (oldest === undefined) break
      this.#evict(oldest)
    }
    return entry
  }

  #evict(id: string): void {
    const entry = this.#entries.get(id)
    if (!entry) return
    this.#entries.delete(id)
    if (entry === this.#newest) this.#newest = undefined
    entry.evicted = true
    clearTimeout(entry.timer)
    entry.fernet.destroy()
    this.#metrics.increment('keysEvicted')
  }
}

// The data key's base64 text, then the canonical context unless empty: injective, since base64 has no `[`.
// Going by the text, a hit neither decodes nor re-encodes the blob.
function cacheId(dataKeyText: string, context: EncryptionContext | undefined): string {
  if (!context) return dataKeyText
  const canonical = canonicalContext(context)
  return canonical === '{}' ? dataKeyText : dataKeyText + canonical
}
