import { Buffer } from 'node:buffer'
import { sealedBodyBytes } from './body-size.ts'
import type { EncryptionContext } from './context.ts'
import { canonicalContext, kmsContext } from './context.ts'
import { SqsEnvelopeError } from './errors.ts'
import { Fernet } from './fernet.ts'
import { abortedWaiting } from './internal/abort.ts'
import type { KmsGateway } from './kms/gateway.ts'
import type { MetricsRecorder } from './metrics.ts'
import { MAX_DATA_KEY_BYTES } from './wire/body.ts'

/** When a sending-side data key must be retired, and how large a sealed body may get. */
export interface DataKeyLimits {
  readonly reuse: boolean
  readonly maxAgeMs: number
  readonly maxMessages: number
  readonly maxBytes: number
  /** Most live data keys, one per (KMS key id, context); least recently used retired first. */
  readonly maxLiveKeys: number
  /** Largest body a seal may produce, in bytes. */
  readonly maxBodyBytes: number
}

interface LiveKey {
  readonly fernet: Fernet
  readonly ciphertext: Uint8Array
  readonly keyArn: string
  readonly expiresAt: number
  messages: number
  bytes: number
  retired: boolean
  timer: NodeJS.Timeout | undefined
}

/** A seal queued until its slot has a usable key. */
interface Waiter {
  readonly plaintext: string | Uint8Array
  /** Exact bytes of the plaintext, or {@link UNCOUNTED}. */
  readonly size: number
  readonly resolve: (sealed: SealedToken) => void
  readonly reject: (error: unknown) => void
  readonly signal: AbortSignal | undefined
  readonly onAbort: (() => void) | undefined
  done: boolean
}

/** Everything about one (KMS key id, encryption context). */
interface Slot {
  readonly id: string
  readonly keyId: string
  readonly context: EncryptionContext | undefined
  key: LiveKey | undefined
  /** FIFO of queued seals; `head` is the first not yet taken. */
  waiters: Waiter[]
  head: number
  /** Queued seals not yet served, aborted or failed. */
  pending: number
  /** The GenerateDataKey in flight for this slot, if any. */
  generation: AbortController | undefined
}

/** What sealing produced: the token and the data key it needs. */
export interface SealedToken {
  readonly token: string
  readonly encryptedDataKey: Uint8Array
  readonly keyArn: string
}

// No KMS returns an empty CiphertextBlob: the smallest body any data key can give.
const MIN_DATA_KEY_BYTES = 1

// The size of a string payload not counted, because it fits maxBodyBytes anyway (see #sizeToCheck).
const UNCOUNTED = -1

// Fernet's AES-CBC ciphertext of `plaintextBytes`: PKCS7 pads to the next whole block.
function ciphertextBytes(plaintextBytes: number): number {
  return (Math.floor(plaintextBytes / 16) + 1) * 16
}

// The ciphertext inside a Fernet token, from its length: urlsafe base64 of version, timestamp and
// IV (25 bytes), the ciphertext and the HMAC (32). Its 0 to 2 padding bytes fall below one block.
function tokenCiphertextBytes(token: string): number {
  return Math.floor(((token.length / 4) * 3 - 57) / 16) * 16
}

/**
 * Sending side: one live data key per (KMS key id, encryption context), reused
 * until its age, message or byte budget runs out, at most `maxLiveKeys` of them
 * (LRU). Seals that find no usable key queue on their slot, and one
 * GenerateDataKey serves the queue: each new key is handed to the seals at the
 * head of the queue, as many as its budget allows, and only those wake up; if
 * more wait, the next GenerateDataKey starts at once. So a burst of N seals
 * with M messages per key costs N + N/M steps, not N²/M.
 *
 * Encryption happens synchronously at the moment a seal takes its share of the
 * budget, so no seal holds a key across an await: retiring or evicting a key
 * (and zero-filling it) can never pull it from under a seal in progress.
 *
 * Size: a body over `maxBodyBytes` fails with MESSAGE_TOO_LARGE before any KMS
 * call or budget is spent. Its size is exact arithmetic on the plaintext length
 * and the blob length ({@link sealedBodyBytes}); the blob length is known once
 * the slot has a key, and before that the smallest possible blob is assumed, so
 * nothing that could fit is refused. A body that fits only a shorter blob than
 * the one KMS then returns is refused after the GenerateDataKey, still before
 * encryption or budget (with reuse the key stays for other seals).
 */
export class DataKeyPool {
  readonly #gateway: KmsGateway
  readonly #limits: DataKeyLimits
  readonly #metrics: MetricsRecorder
  // Map order is recency order: each seal moves its slot to the end.
  readonly #slots = new Map<string, Slot>()
  // The slot of the last seal.
  #recent: Slot | undefined
  #liveKeys = 0
  #closed = false

  constructor(gateway: KmsGateway, limits: DataKeyLimits, metrics: MetricsRecorder) {
    this.#gateway = gateway
    this.#limits = limits
    this.#metrics = metrics
  }

  /** Number of plaintext data keys alive now. */
  get liveKeys(): number {
    return this.#liveKeys
  }

  /** {@link DataKeyPool.sealNow}, always as a promise. */
  async seal(
    keyId: string,
    context: EncryptionContext | undefined,
    plaintext: string | Uint8Array,
    signal?: AbortSignal,
  ): Promise<SealedToken> {
    return this.sealNow(keyId, context, plaintext, signal)
  }

  /**
   * Seals at once (no promise, no async hop) when the slot's live key fits; otherwise a promise
   * that settles once a key is there. Throws synchronously for what is wrong before any wait
   * (CLOSED, MESSAGE_TOO_LARGE, ABORTED).
   */
  sealNow(
    keyId: string,
    context: EncryptionContext | undefined,
    plaintext: string | Uint8Array,
    signal?: AbortSignal,
  ): SealedToken | Promise<SealedToken> {
    this.#assertOpen()
    const size = this.#sizeToCheck(plaintext)
    if (!this.#limits.reuse) return this.#sealWithFreshKey(keyId, context, plaintext, size, signal)
    // Seals come in runs for one key id and (frozen) context: the last slot, while it holds a key
    // (and so is in #slots), is found without building its id, and is already the most recent.
    const recent = this.#recent
    const same = recent?.key !== undefined && recent.keyId === keyId && recent.context === context
    const id = same ? recent.id : `${keyId}\u0000${canonicalContext(context)}`
    const found = same ? recent : this.#slots.get(id)
    this.#assertBodyFits(size, plaintext, found?.key?.ciphertext.length ?? MIN_DATA_KEY_BYTES)
    if (signal?.aborted) throw abortedWaiting(signal)
    const slot = same ? recent : this.#touch(id, found, keyId, context)
    const live = slot.key
    // Nobody queued ahead: take a share of the live key at once.
    if (slot.pending === 0 && live) {
      if (this.#fits(live, plaintext, size)) return this.#sealWith(slot, live, plaintext, size)
      this.#retire(slot)
    }
    return this.#enqueue(slot, plaintext, size, signal)
  }

  /** The slot for `id`, created if absent, moved to the most recent end of #slots, and remembered as #recent. */
  #touch(id: string, found: Slot | undefined, keyId: string, context: EncryptionContext | undefined): Slot {
    const slot = found ?? {
      id,
      keyId,
      context,
      key: undefined,
      waiters: [],
      head: 0,
      pending: 0,
      generation: undefined,
    }
    this.#slots.delete(id)
    this.#slots.set(id, slot)
    this.#recent = slot
    return slot
  }

  /** Zero-fills and drops every live key; queued seals and later ones end with CLOSED. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const slot of this.#slots.values()) {
      this.#failWaiters(slot, () => closedError())
      slot.generation?.abort()
      slot.generation = undefined
      this.#retire(slot)
    }
    this.#slots.clear()
    this.#recent = undefined
  }

  #enqueue(slot: Slot, plaintext: string | Uint8Array, size: number, signal: AbortSignal | undefined) {
    if (slot.generation) this.#metrics.increment('singleFlightJoins')
    // Retiring its key just now may have dropped the idle slot: it is busy again.
    if (this.#slots.get(slot.id) !== slot) this.#slots.set(slot.id, slot)
    return new Promise<SealedToken>((resolve, reject) => {
      const onAbort = signal && (() => this.#abandon(slot, waiter, signal))
      const waiter: Waiter = { plaintext, size, resolve, reject, signal, onAbort, done: false }
      signal?.addEventListener('abort', onAbort as () => void, { once: true })
      slot.waiters.push(waiter)
      slot.pending++
      if (!slot.generation) this.#generate(slot)
    })
  }

  /** A queued seal whose signal aborted: released at once; the last one out stops the GenerateDataKey. */
  #abandon(slot: Slot, waiter: Waiter, signal: AbortSignal): void {
    if (waiter.done) return
    waiter.done = true
    slot.pending--
    waiter.reject(abortedWaiting(signal))
    if (slot.pending === 0 && slot.generation) {
      slot.generation.abort(signal.reason)
      slot.generation = undefined
      this.#dropIfIdle(slot)
    }
  }

  #generate(slot: Slot): void {
    const generation = new AbortController()
    slot.generation = generation
    this.#gateway.generateDataKey(slot.keyId, kmsContext(slot.context), generation.signal).then(
      (key) => {
        const fernet = createFernet(key.plaintext)
        // Stopped meanwhile (all its seals aborted, or close()): nobody takes this key.
        if (slot.generation !== generation || this.#closed) {
          fernet.destroy()
          return
        }
        slot.generation = undefined
        this.#install(slot, fernet, key.ciphertext, key.keyArn)
        this.#serve(slot)
      },
      (error: unknown) => {
        if (slot.generation !== generation) return
        slot.generation = undefined
        this.#failWaiters(slot, () => error)
        this.#dropIfIdle(slot)
      },
    )
  }

  #install(slot: Slot, fernet: Fernet, ciphertext: Uint8Array, keyArn: string): void {
    this.#retire(slot)
    const live: LiveKey = {
      fernet,
      ciphertext,
      keyArn,
      expiresAt: Date.now() + this.#limits.maxAgeMs,
      messages: 0,
      bytes: 0,
      retired: false,
      timer: undefined,
    }
    // Zero-fill on age even when no further seal comes to notice it.
    live.timer = setTimeout(() => {
      if (slot.key === live) this.#retire(slot)
    }, this.#limits.maxAgeMs)
    live.timer.unref()
    slot.key = live
    this.#liveKeys++
    this.#evictLeastRecentlyUsed(slot)
  }

  /** Hands the new key to the seals at the head of the queue, as many as it can take. */
  #serve(slot: Slot): void {
    const waiters = slot.waiters
    while (slot.head < waiters.length) {
      const waiter = waiters[slot.head] as Waiter
      if (waiter.done) {
        slot.head++
        continue
      }
      const key = slot.key
      if (!key || !this.#fits(key, waiter.plaintext, waiter.size)) break
      slot.head++
      waiter.done = true
      slot.pending--
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort)
      try {
        waiter.resolve(this.#sealWith(slot, key, waiter.plaintext, waiter.size))
      } catch (error) {
        waiter.reject(error)
      }
    }
    this.#compact(slot)
    if (slot.pending > 0) {
      this.#retire(slot)
      this.#generate(slot)
    }
  }

  /** Seals under `key`: size check first, then the encryption and the budget share, all synchronous. */
  #sealWith(slot: Slot, key: LiveKey, plaintext: string | Uint8Array, size: number): SealedToken {
    this.#assertBodyFits(size, plaintext, key.ciphertext.length)
    // The first seal under a key is the one that needed it from KMS.
    this.#metrics.increment(key.messages === 0 ? 'cacheMisses' : 'cacheHits')
    key.messages += 1
    const token = key.fernet.encrypt(plaintext)
    key.bytes += tokenCiphertextBytes(token)
    if (key.messages >= this.#limits.maxMessages || key.bytes >= this.#limits.maxBytes) this.#retire(slot)
    return { token, encryptedDataKey: key.ciphertext, keyArn: key.keyArn }
  }

  #fits(live: LiveKey, plaintext: string | Uint8Array, size: number): boolean {
    if (live.retired || Date.now() >= live.expiresAt) return false
    if (live.messages >= this.#limits.maxMessages) return false
    // A message larger than the whole byte budget still gets a fresh key of its own.
    if (live.messages === 0) return true
    const left = this.#limits.maxBytes - live.bytes
    if (size !== UNCOUNTED) return ciphertextBytes(size) <= left
    // A string has at least its length and at most three times its length in UTF-8 bytes:
    // it is counted only when the budget is closer than that.
    if (ciphertextBytes(3 * (plaintext as string).length) <= left) return true
    if (ciphertextBytes((plaintext as string).length) > left) return false
    return ciphertextBytes(Buffer.byteLength(plaintext as string)) <= left
  }

  /**
   * Exact bytes of `plaintext`, or UNCOUNTED for a string that fits `maxBodyBytes` under any data
   * key even at three UTF-8 bytes per UTF-16 unit: a pass over a large string saved on every seal.
   */
  #sizeToCheck(plaintext: string | Uint8Array): number {
    if (typeof plaintext !== 'string') return plaintext.byteLength
    return sealedBodyBytes(3 * plaintext.length, MAX_DATA_KEY_BYTES) <= this.#limits.maxBodyBytes
      ? UNCOUNTED
      : Buffer.byteLength(plaintext)
  }

  #assertBodyFits(size: number, plaintext: string | Uint8Array, dataKeyBytes: number): void {
    if (size === UNCOUNTED && dataKeyBytes <= MAX_DATA_KEY_BYTES) return
    const plaintextBytes = size === UNCOUNTED ? Buffer.byteLength(plaintext as string) : size
    const bodyBytes = sealedBodyBytes(plaintextBytes, dataKeyBytes)
    if (bodyBytes > this.#limits.maxBodyBytes) {
      throw new SqsEnvelopeError(
        'MESSAGE_TOO_LARGE',
        `the sealed body would be ${dataKeyBytes === MIN_DATA_KEY_BYTES ? 'at least ' : ''}${bodyBytes} bytes ` +
          `(payload ${plaintextBytes} bytes), over maxBodyBytes (${this.#limits.maxBodyBytes})`,
      )
    }
  }

  async #sealWithFreshKey(
    keyId: string,
    context: EncryptionContext | undefined,
    plaintext: string | Uint8Array,
    size: number,
    signal?: AbortSignal,
  ): Promise<SealedToken> {
    this.#assertBodyFits(size, plaintext, MIN_DATA_KEY_BYTES)
    const key = await this.#gateway.generateDataKey(keyId, kmsContext(context), signal)
    const fernet = createFernet(key.plaintext)
    try {
      this.#assertOpen()
      this.#assertBodyFits(size, plaintext, key.ciphertext.length)
      this.#metrics.increment('cacheMisses')
      return { token: fernet.encrypt(plaintext), encryptedDataKey: key.ciphertext, keyArn: key.keyArn }
    } finally {
      fernet.destroy()
      this.#metrics.increment('keysEvicted')
    }
  }

  /** Retires the slot's key, if any: zero-filled now, as no seal holds it across an await. */
  #retire(slot: Slot): void {
    const live = slot.key
    if (!live) return
    slot.key = undefined
    live.retired = true
    clearTimeout(live.timer)
    live.fernet.destroy()
    this.#liveKeys--
    this.#metrics.increment('keysEvicted')
    this.#dropIfIdle(slot)
  }

  #evictLeastRecentlyUsed(keep: Slot): void {
    if (this.#liveKeys <= this.#limits.maxLiveKeys) return
    for (const slot of this.#slots.values()) {
      if (slot !== keep && slot.key) this.#retire(slot)
      if (this.#liveKeys <= this.#limits.maxLiveKeys) return
    }
  }

  #failWaiters(slot: Slot, error: () => unknown): void {
    for (let i = slot.head; i < slot.waiters.length; i++) {
      const waiter = slot.waiters[i] as Waiter
      if (waiter.done) continue
      waiter.done = true
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort)
      waiter.reject(error())
    }
    slot.waiters = []
    slot.head = 0
    slot.pending = 0
  }

  /** Drops served entries from the front of the queue once they are the larger part. */
  #compact(slot: Slot): void {
    if (slot.head === slot.waiters.length) {
      slot.waiters = []
      slot.head = 0
    } else if (slot.head > 1024 && slot.head * 2 > slot.waiters.length) {
      slot.waiters = slot.waiters.slice(slot.head)
      slot.head = 0
    }
  }

  #dropIfIdle(slot: Slot): void {
    if (!slot.key && !slot.generation && slot.pending === 0 && this.#slots.get(slot.id) === slot) {
      this.#slots.delete(slot.id)
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError()
  }
}

function closedError(): SqsEnvelopeError {
  return new SqsEnvelopeError('CLOSED', 'the sealer is closed')
}

/** A Fernet over the plaintext data key; the KMS buffer is zero-filled at once. */
export function createFernet(plaintextKey: Buffer): Fernet {
  try {
    return new Fernet(plaintextKey)
  } finally {
    plaintextKey.fill(0)
  }
}
