import type { EncryptionContext } from './context.ts'
import { canonicalContext, kmsContext } from './context.ts'
import { SqsEnvelopeError } from './errors.ts'
import { Fernet } from './fernet.ts'
import type { KmsGateway } from './kms/gateway.ts'
import type { MetricsRecorder } from './metrics.ts'
import { SingleFlight, settleUnlessOthersAbort } from './single-flight.ts'

/** When a sending-side data key must be retired. */
export interface DataKeyLimits {
  readonly reuse: boolean
  readonly maxAgeMs: number
  readonly maxMessages: number
  readonly maxBytes: number
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

/** What sealing produced: the token and the data key it needs. */
export interface SealedToken {
  readonly token: string
  readonly encryptedDataKey: Uint8Array
  readonly keyArn: string
}

/**
 * Sending side: one live data key per (KMS key id, encryption context), reused
 * until its age, message or byte budget runs out. Concurrent seals that find no
 * usable key wait on one GenerateDataKey (single-flight) instead of each making
 * their own. Encryption happens synchronously at the moment a seal takes its
 * share of the budget, so no key can be retired and zero-filled under it.
 */
export class DataKeyPool {
  readonly #gateway: KmsGateway
  readonly #limits: DataKeyLimits
  readonly #metrics: MetricsRecorder
  readonly #live = new Map<string, LiveKey>()
  readonly #generations = new SingleFlight<void>()
  #closed = false

  constructor(gateway: KmsGateway, limits: DataKeyLimits, metrics: MetricsRecorder) {
    this.#gateway = gateway
    this.#limits = limits
    this.#metrics = metrics
  }

  async seal(
    keyId: string,
    context: EncryptionContext | undefined,
    plaintext: string | Uint8Array,
    signal?: AbortSignal,
  ): Promise<SealedToken> {
    const size = typeof plaintext === 'string' ? Buffer.byteLength(plaintext) : plaintext.byteLength
    if (!this.#limits.reuse) return this.#sealWithFreshKey(keyId, context, plaintext, signal)
    const slot = `${keyId}\u0000${canonicalContext(context)}`
    let missed = false
    for (;;) {
      this.#assertOpen()
      const live = this.#live.get(slot)
      if (live && this.#fits(live, size)) {
        this.#metrics.increment(missed ? 'cacheMisses' : 'cacheHits')
        live.messages += 1
        live.bytes += size
        const token = live.fernet.encrypt(plaintext)
        if (live.messages >= this.#limits.maxMessages || live.bytes >= this.#limits.maxBytes) this.#retire(slot, live)
        return { token, encryptedDataKey: live.ciphertext, keyArn: live.keyArn }
      }
      if (live) this.#retire(slot, live)
      const { promise, joined } = this.#generations.run(slot, () => this.#generate(slot, keyId, context, signal))
      if (joined) this.#metrics.increment('singleFlightJoins')
      else missed = true
      // Whoever generated it, the new key is in #live now: take a share of it on the next pass.
      await settleUnlessOthersAbort(promise, signal)
    }
  }

  /** Zero-fills and drops every live key. Later seals throw CLOSED. */
  close(): void {
    this.#closed = true
    for (const [slot, live] of this.#live) this.#retire(slot, live)
  }

  #fits(live: LiveKey, size: number): boolean {
    if (Date.now() >= live.expiresAt) return false
    if (live.messages >= this.#limits.maxMessages) return false
    // A message larger than the whole byte budget still gets a fresh key of its own.
    return live.messages === 0 || live.bytes + size <= this.#limits.maxBytes
  }

  async #generate(slot: string, keyId: string, context: EncryptionContext | undefined, signal?: AbortSignal) {
    const key = await this.#gateway.generateDataKey(keyId, kmsContext(context), signal)
    const fernet = createFernet(key.plaintext)
    if (this.#closed) {
      fernet.destroy()
      this.#assertOpen()
    }
    const live: LiveKey = {
      fernet,
      ciphertext: key.ciphertext,
      keyArn: key.keyArn,
      expiresAt: Date.now() + this.#limits.maxAgeMs,
      messages: 0,
      bytes: 0,
      retired: false,
      timer: undefined,
    }
    // Zero-fill on age even when no further seal comes to notice it.
    live.timer = setTimeout(() => this.#retire(slot, live), this.#limits.maxAgeMs)
    live.timer.unref()
    const previous = this.#live.get(slot)
    if (previous) this.#retire(slot, previous)
    this.#live.set(slot, live)
  }

  async #sealWithFreshKey(
    keyId: string,
    context: EncryptionContext | undefined,
    plaintext: string | Uint8Array,
    signal?: AbortSignal,
  ): Promise<SealedToken> {
    this.#assertOpen()
    this.#metrics.increment('cacheMisses')
    const key = await this.#gateway.generateDataKey(keyId, kmsContext(context), signal)
    const fernet = createFernet(key.plaintext)
    try {
      return { token: fernet.encrypt(plaintext), encryptedDataKey: key.ciphertext, keyArn: key.keyArn }
    } finally {
      fernet.destroy()
      this.#metrics.increment('keysEvicted')
    }
  }

  #retire(slot: string, live: LiveKey): void {
    if (live.retired) return
    live.retired = true
    clearTimeout(live.timer)
    if (this.#live.get(slot) === live) this.#live.delete(slot)
    live.fernet.destroy()
    this.#metrics.increment('keysEvicted')
  }

  #assertOpen(): void {
    if (this.#closed) throw new SqsEnvelopeError('CLOSED', 'the sealer is closed')
  }
}

/** A Fernet over the plaintext data key; the KMS buffer is zero-filled at once. */
export function createFernet(plaintextKey: Buffer): Fernet {
  try {
    return new Fernet(plaintextKey)
  } finally {
    plaintextKey.fill(0)
  }
}
