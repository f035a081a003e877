import { Buffer } from 'node:buffer'
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  type Decipheriv,
  randomBytes,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto'
import { decodeUrlsafeBase64, encodeUrlsafeBase64 } from './base64.ts'
import { SqsEnvelopeError } from './errors.ts'
import { needs } from './preconditions.ts'
import { describeValue, inspectCustom, REDACTED, redactedString } from './redaction.ts'

// Token layout: version (1) | timestamp (8, big-endian) | IV (16) | ciphertext (n * 16) | HMAC-SHA256 (32).
const VERSION = 0x80
const IV_OFFSET = 9
const HEADER_BYTES = 25
const BLOCK_BYTES = 16
const MAC_BYTES = 32
const MIN_TOKEN_BYTES = HEADER_BYTES + BLOCK_BYTES + MAC_BYTES
const KEY_BYTES = 32
const TWO_POW_32 = 2 ** 32

/** Seconds a token's timestamp may be ahead of `now`, as in Python's `cryptography.fernet`. */
export const FERNET_MAX_CLOCK_SKEW_SECONDS = 60

/** Options of {@link Fernet.encrypt}; both exist for test vectors and reproducible output. */
export interface FernetEncryptOptions {
  /** The 16-byte AES-CBC IV. Default: 16 fresh random bytes. Never reuse one with the same key. */
  iv?: Uint8Array
  /** Creation time in whole Unix seconds. Default: now. */
  timestamp?: number
}

/** Options of {@link Fernet.decrypt}. */
export interface FernetDecryptOptions {
  /**
   * Maximum token age in seconds. When set, a token older than this is
   * `TOKEN_EXPIRED` and one more than {@link FERNET_MAX_CLOCK_SKEW_SECONDS}
   * ahead of `now` is `TOKEN_FROM_FUTURE`. When unset, the timestamp is not
   * checked at all (as Python's `Fernet.decrypt(token, ttl=None)`).
   */
  ttlSeconds?: number
  /** The current time in Unix seconds. Default: `Math.floor(Date.now() / 1000)`, as Python's `int(time.time())`. */
  now?: number
}

// randomBytes(16) costs ~4 µs per call, about a sixth of a 1 KiB encrypt; filling a pool
// once per 256 IVs costs ~0.07 µs per IV (node:crypto's randomUUID caches entropy likewise).
// Each 16-byte slot is handed out once and copied into its token before the pool is refilled.
const IV_POOL_BYTES = 16 * 256
const ivPool = Buffer.allocUnsafeSlow(IV_POOL_BYTES)
let ivPoolOffset = IV_POOL_BYTES

function freshIv(): Buffer {
  if (ivPoolOffset === IV_POOL_BYTES) {
    randomFillSync(ivPool)
    ivPoolOffset = 0
  }
  const iv = ivPool.subarray(ivPoolOffset, ivPoolOffset + 16)
  ivPoolOffset += 16
  return iv
}

// Up to this much ciphertext, a token is decrypted block-wise (see #open): creating an AES-CBC
// decipher for each token costs more than decrypting a small one (2.3 µs against 0.9 µs for the
// whole 272 bytes of a 256-byte payload); from about 1 KiB on, the native CBC pass is faster.
const BLOCKWISE_UP_TO_BYTES = 512

function blockDecipher(encryptionKey: Buffer): Decipheriv {
  const decipher = createDecipheriv('aes-128-ecb', encryptionKey, null)
  decipher.setAutoPadding(false)
  return decipher
}

// From this ciphertext size on, copying it into one token buffer costs more (a second large
// allocation and a pass over it) than encoding the token in three pieces.
const PIECEWISE_FROM_BYTES = 8192

function writeHeader(target: Buffer, timestamp: number, iv: Uint8Array): void {
  target[0] = VERSION
  target.writeUInt32BE(Math.floor(timestamp / TWO_POW_32), 1)
  target.writeUInt32BE(timestamp >>> 0, 5)
  target.set(iv, IV_OFFSET)
}

/**
 * The token's base64 without copying the ciphertext: base64 of a concatenation is the
 * concatenation of the pieces' base64 when every piece but the last is a multiple of 3 bytes.
 * Pieces: header + the first 2 ciphertext bytes (27), the ciphertext's middle (a multiple of 3,
 * encoded where it lies), and the few bytes left with the final block and the HMAC.
 */
function piecewiseToken(signingKey: Buffer, timestamp: number, iv: Uint8Array, head: Buffer, tail: Buffer): string {
  const first = Buffer.allocUnsafe(HEADER_BYTES + 2)
  writeHeader(first, timestamp, iv)
  const mac = createHmac('sha256', signingKey)
    .update(first.subarray(0, HEADER_BYTES))
    .update(head)
    .update(tail)
    .digest()
  first[HEADER_BYTES] = head[0] as number
  first[HEADER_BYTES + 1] = head[1] as number
  const middleEnd = 2 + Math.floor((head.length - 2) / 3) * 3
  const headLeft = head.length - middleEnd
  const last = Buffer.allocUnsafe(headLeft + tail.length + MAC_BYTES)
  last.set(head.subarray(middleEnd), 0)
  last.set(tail, headLeft)
  last.set(mac, headLeft + tail.length)
  // The other pieces are whole 3-byte groups: the last one alone decides the `=` padding.
  return first.toString('base64url') + head.toString('base64url', 2, middleEnd) + encodeUrlsafeBase64(last)
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/**
 * Fernet (https://github.com/fernet/spec) on node:crypto, interoperable with
 * Python's `cryptography.fernet`. The key is held only in a private buffer of
 * its own (never a pooled one), zero-filled by {@link Fernet.destroy}; the
 * object prints, inspects and serialises as `Fernet { key: [redacted] }`.
 */
export class Fernet {
  readonly #key: Buffer
  #signingKey: Buffer | undefined
  #encryptionKey: Buffer | undefined
  // AES-128-ECB without padding under the encryption key, for small tokens (see BLOCKWISE_UP_TO_BYTES).
  #blocks: Decipheriv | undefined

  /**
   * @param key 32 bytes (0-15 signing key, 16-31 AES-128 key) or their
   * 44-character urlsafe base64 with padding; else `KEY_INVALID`. The bytes
   * are copied: the caller keeps ownership of (and should wipe) its own array.
   */
  constructor(key: Uint8Array | string) {
    const decoded = typeof key === 'string' ? decodeUrlsafeBase64(key) : undefined
    const bytes = typeof key === 'string' ? decoded : key instanceof Uint8Array ? key : undefined
    try {
      needs(
        bytes !== undefined && bytes.length === KEY_BYTES,
        'KEY_INVALID',
        'Fernet key must be 32 bytes, or their 44-character urlsafe base64 with padding',
      )
      // allocUnsafeSlow: a buffer of our own, so zero-filling it touches nothing else.
      this.#key = Buffer.allocUnsafeSlow(KEY_BYTES)
      this.#key.set(bytes)
      this.#signingKey = this.#key.subarray(0, 16)
      this.#encryptionKey = this.#key.subarray(16, 32)
    } finally {
      decoded?.fill(0)
    }
  }

  /** A new random key: urlsafe base64 (with padding) of 32 random bytes, as Python's `Fernet.generate_key()`. */
  static generateKey(): string {
    const bytes = randomBytes(KEY_BYTES)
    const key = encodeUrlsafeBase64(bytes)
    bytes.fill(0)
    return key
  }

  /**
   * Seals `data` (a string is encoded as UTF-8) into a Fernet token: urlsafe
   * base64 with padding.
   *
   * @throws SqsEnvelopeError `CLOSED` after {@link Fernet.destroy},
   * `OPTION_INVALID` for a bad `iv` or `timestamp`, `PAYLOAD_UNSEALABLE` when
   * `data` is neither a string nor a Uint8Array.
   */
  encrypt(data: string | Uint8Array, options?: FernetEncryptOptions): string {
    const signingKey = this.#signingKey
    const encryptionKey = this.#encryptionKey
    needs(signingKey && encryptionKey, 'CLOSED', 'Fernet must not be used after destroy()')
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw new SqsEnvelopeError(
        'PAYLOAD_UNSEALABLE',
        `data must be a string or a Uint8Array; received ${data === null ? 'null' : typeof data}`,
      )
    }
    let iv: Uint8Array
    if (options?.iv === undefined) {
      iv = freshIv()
    } else {
      iv = options.iv
      needs(
        iv instanceof Uint8Array && iv.length === 16,
        'OPTION_INVALID',
        () => `iv must be a Uint8Array of 16 bytes; received ${describeValue(iv)}`,
      )
    }
    let timestamp: number
    if (options?.timestamp === undefined) {
      timestamp = nowSeconds()
    } else {
      timestamp = options.timestamp
      needs(
        Number.isSafeInteger(timestamp) && timestamp >= 0,
        'OPTION_INVALID',
        () => `timestamp must be a non-negative integer of Unix seconds; received ${describeValue(timestamp)}`,
      )
    }

    const cipher = createCipheriv('aes-128-cbc', encryptionKey, iv)
    const head = typeof data === 'string' ? cipher.update(data, 'utf8') : cipher.update(data)
    const tail = cipher.final()
    if (head.length >= PIECEWISE_FROM_BYTES) return piecewiseToken(signingKey, timestamp, iv, head, tail)
    const macOffset = HEADER_BYTES + head.length + tail.length
    // One buffer for the whole token; the HMAC is computed over its prefix in place.
    const token = Buffer.allocUnsafe(macOffset + MAC_BYTES)
    writeHeader(token, timestamp, iv)
    token.set(head, HEADER_BYTES)
    token.set(tail, HEADER_BYTES + head.length)
    token.set(createHmac('sha256', signingKey).update(token.subarray(0, macOffset)).digest(), macOffset)
    return encodeUrlsafeBase64(token)
  }

  /**
   * Verifies and opens a Fernet token. Order (no padding oracle: nothing is
   * decrypted before the HMAC verifies): encoding, length, version, HMAC,
   * then — only with `ttlSeconds`, as Python does — expiry and clock skew,
   * then decryption and padding.
   *
   * @returns the plaintext bytes.
   * @throws SqsEnvelopeError `TOKEN_ENCODING`, `TOKEN_LENGTH`,
   * `TOKEN_VERSION`, `TOKEN_MAC`, `TOKEN_EXPIRED`, `TOKEN_FROM_FUTURE`,
   * `TOKEN_PADDING`; `OPTION_INVALID` for bad options; `CLOSED` after
   * {@link Fernet.destroy}.
   */
  decrypt(token: string, options?: FernetDecryptOptions): Buffer {
    this.#assertLive()
    const check = decryptOptions(options)
    const bytes = decodeUrlsafeBase64(token)
    needs(bytes !== undefined, 'TOKEN_ENCODING', 'token must be urlsafe base64 with padding')
    return this.#open(bytes, check)
  }

  /**
   * {@link Fernet.decrypt} for a token already decoded from its base64 (as
   * `parseBody` returns it in `tokenBytes`), so a large token is not decoded
   * twice. Same checks, order and errors, except `TOKEN_ENCODING`.
   */
  decryptBytes(token: Uint8Array, options?: FernetDecryptOptions): Buffer {
    this.#assertLive()
    const check = options === undefined ? NO_TIME_CHECK : decryptOptions(options)
    if (!Buffer.isBuffer(token)) {
      needs(
        token instanceof Uint8Array,
        'TOKEN_ENCODING',
        () => `token must be a Uint8Array; received ${describeValue(token)}`,
      )
      return this.#open(Buffer.from(token.buffer, token.byteOffset, token.byteLength), check)
    }
    return this.#open(token, check)
  }

  #assertLive(): void {
    needs(this.#signingKey, 'CLOSED', 'Fernet must not be used after destroy()')
  }

  // Runs after #assertLive: the keys are there (nothing awaits in between).
  #open(bytes: Buffer, check: TimeCheck): Buffer {
    const signingKey = this.#signingKey as Buffer
    const encryptionKey = this.#encryptionKey as Buffer
    checkTokenFrame(bytes)
    const macOffset = bytes.length - MAC_BYTES
    const mac = createHmac('sha256', signingKey).update(bytes.subarray(0, macOffset)).digest()
    needs(timingSafeEqual(mac, bytes.subarray(macOffset)), 'TOKEN_MAC', 'token HMAC must verify under the signing key')
    checkTokenTime(bytes, check)

    // Unpadding by hand returns a view of one output buffer instead of concatenating update() and final().
    let padded: Buffer
    if (macOffset - HEADER_BYTES <= BLOCKWISE_UP_TO_BYTES) {
      // CBC decryption is each block's AES decryption XOR the block before it (the IV for the
      // first): one long-lived ECB decipher does the AES part; the XOR runs here. checkTokenFrame
      // ensured whole blocks, so the decipher never holds a partial block between tokens.
      this.#blocks ??= blockDecipher(encryptionKey)
      padded = this.#blocks.update(bytes.subarray(HEADER_BYTES, macOffset))
      for (let i = 0; i < padded.length; i++) padded[i] = (padded[i] as number) ^ (bytes[IV_OFFSET + i] as number)
    } else {
      const decipher = createDecipheriv('aes-128-cbc', encryptionKey, bytes.subarray(IV_OFFSET, HEADER_BYTES))
      decipher.setAutoPadding(false)
      padded = decipher.update(bytes.subarray(HEADER_BYTES, macOffset))
    }
    return padded.subarray(0, padded.length - pkcs7PaddingLength(padded))
  }

  /** Zero-fills the key: later calls throw `CLOSED`. Idempotent. */
  destroy(): void {
    this.#key.fill(0)
    this.#signingKey = undefined
    this.#encryptionKey = undefined
    // Its key schedule lives in OpenSSL's context until the GC frees it (OpenSSL cleanses it then),
    // like that of every cipher node:crypto creates; from now on nothing can use it.
    this.#blocks = undefined
  }

  /** Never the key. */
  toJSON(): { key: typeof REDACTED } {
    return { key: REDACTED }
  }

  /** Never the key. */
  toString(): string {
    return redactedString('Fernet', this.toJSON())
  }

  /** Never the key (used by `util.inspect` and `console.log`). */
  [inspectCustom](): string {
    return redactedString('Fernet', this.toJSON())
  }
}

/** Validated time options of a decrypt: `ttlSeconds` undefined means no time check at all. */
export interface TimeCheck {
  readonly ttlSeconds: number | undefined
  readonly now: number
}

const NO_TIME_CHECK: TimeCheck = Object.freeze({ ttlSeconds: undefined, now: 0 })

/** Checks the options of {@link Fernet.decrypt}; without `ttlSeconds` the clock is not even read. */
export function decryptOptions(options: FernetDecryptOptions | undefined): TimeCheck {
  if (options === undefined) return NO_TIME_CHECK
  const { ttlSeconds, now } = options
  needs(
    ttlSeconds === undefined || (Number.isSafeInteger(ttlSeconds) && ttlSeconds > 0),
    'OPTION_INVALID',
    () => `ttlSeconds must be a positive integer; received ${describeValue(ttlSeconds)}`,
  )
  needs(
    now === undefined || (typeof now === 'number' && Number.isFinite(now) && now >= 0),
    'OPTION_INVALID',
    () => `now must be a non-negative finite number of Unix seconds; received ${describeValue(now)}`,
  )
  if (ttlSeconds === undefined) return NO_TIME_CHECK
  return { ttlSeconds, now: now ?? nowSeconds() }
}

/** Length and version: what a token must satisfy before anything else is read from it. No key needed. */
export function checkTokenFrame(bytes: Uint8Array): void {
  const length = bytes.length
  needs(
    length >= MIN_TOKEN_BYTES && (length - HEADER_BYTES - MAC_BYTES) % BLOCK_BYTES === 0,
    'TOKEN_LENGTH',
    'token must be at least 73 bytes, of which the ciphertext is whole 16-byte blocks',
  )
  needs(bytes[0] === VERSION, 'TOKEN_VERSION', 'token must start with version byte 0x80')
}

// Below 2^52 (year 142 million), sums with a safe ttl or skew stay exact as numbers.
const EXACT_AS_NUMBER = 2 ** 52

/**
 * With a TTL, expiry then clock skew, in Python's order. The timestamp is a
 * 64-bit integer: beyond 2^52 it is compared as a BigInt (a BigInt compares
 * exactly with any number), so every result agrees with Python's integers.
 * No key needed, but the timestamp is only authenticated once the HMAC verifies.
 */
export function checkTokenTime(bytes: Uint8Array, { ttlSeconds, now }: TimeCheck): void {
  if (ttlSeconds === undefined) return
  const view = new DataView(bytes.buffer, bytes.byteOffset + 1, 8)
  const high = view.getUint32(0)
  const low = view.getUint32(4)
  let expired: boolean
  let fromFuture: boolean
  if (high < EXACT_AS_NUMBER / TWO_POW_32 && now < EXACT_AS_NUMBER) {
    const timestamp = high * TWO_POW_32 + low
    expired = timestamp + ttlSeconds < now
    fromFuture = timestamp > now + FERNET_MAX_CLOCK_SKEW_SECONDS
  } else {
    const timestamp = view.getBigUint64(0)
    expired = timestamp + BigInt(ttlSeconds) < now
    fromFuture = timestamp - BigInt(FERNET_MAX_CLOCK_SKEW_SECONDS) > now
  }
  needs(!expired, 'TOKEN_EXPIRED', 'token must not be older than ttlSeconds')
  needs(!fromFuture, 'TOKEN_FROM_FUTURE', 'token timestamp must not be more than 60 seconds ahead of now')
}

/**
 * Length of valid PKCS7 padding at the end of `padded`. Not constant-time: it
 * runs only after the HMAC verified, so it cannot serve as a padding oracle.
 */
function pkcs7PaddingLength(padded: Buffer): number {
  const length = padded.length
  const pad = padded[length - 1] ?? 0
  let valid = pad >= 1 && pad <= BLOCK_BYTES
  for (let i = length - pad; valid && i < length - 1; i++) valid = padded[i] === pad
  needs(valid, 'TOKEN_PADDING', 'token plaintext must end in valid PKCS7 padding')
  return pad
}
