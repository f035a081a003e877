import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { inspect } from 'node:util'
import { describe, expect, it, vi } from 'vitest'
import { decodeUrlsafeBase64, encodeUrlsafeBase64 } from './base64.ts'
import type { SqsEnvelopeErrorCode } from './errors.ts'
import { FERNET_MAX_CLOCK_SKEW_SECONDS, Fernet } from './fernet.ts'
import { failure } from './test-support/failure.ts'

// The vectors are the public Fernet spec's; a copy lives in the repo so tests never read outside it.
const FIXTURES = new URL('./__fixtures__/fernet-spec/', import.meta.url)
// Where the shared originals live when the repo is checked out beside shared/.
const SHARED = new URL('../../../../shared/fernet-spec/', import.meta.url)

interface GenerateVector {
  token: string
  now: string
  iv: number[]
  src: string
  secret: string
}
interface VerifyVector {
  token: string
  now: string
  ttl_sec: number
  src: string
  secret: string
}
interface InvalidVector {
  desc: string
  token: string
  now: string
  ttl_sec: number
  secret: string
}

function vectors<T>(name: string, base = FIXTURES): T[] {
  return JSON.parse(readFileSync(new URL(name, base), 'utf8')) as T[]
}

const unixSeconds = (iso: string): number => Date.parse(iso) / 1000

function expectFailure(fn: () => unknown, code: SqsEnvelopeErrorCode, precondition?: string): void {
  const { code: actual, message } = failure(fn)
  expect(actual).toBe(code)
  if (precondition !== undefined) expect(message.startsWith(precondition)).toBe(true)
}

const KEY = randomBytes(32)
const IV = Uint8Array.from({ length: 16 }, (_, i) => i)

/** A token with a valid HMAC over arbitrary (block-aligned, unpadded) plaintext, to reach the padding check. */
function forgeToken(key: Uint8Array, paddedPlaintext: Uint8Array, timestamp = 1000): string {
  const cipher = createCipheriv('aes-128-cbc', key.subarray(16), IV).setAutoPadding(false)
  const ciphertext = Buffer.concat([cipher.update(paddedPlaintext), cipher.final()])
  const header = Buffer.alloc(25)
  header[0] = 0x80
  header.writeBigUInt64BE(BigInt(timestamp), 1)
  header.set(IV, 9)
  const signed = Buffer.concat([header, ciphertext])
  const mac = createHmac('sha256', key.subarray(0, 16)).update(signed).digest()
  return encodeUrlsafeBase64(Buffer.concat([signed, mac]))
}

function tokenBytes(token: string): Buffer {
  const bytes = decodeUrlsafeBase64(token)
  if (bytes === undefined) throw new Error('test token is not base64')
  return bytes
}

describe('Fernet spec vectors', () => {
  it('the fixture copies match ../shared/fernet-spec when it is present', () => {
    for (const name of ['generate.json', 'verify.json', 'invalid.json']) {
      const copy = vectors<unknown>(name)
      expect(copy.length).toBeGreaterThan(0)
      if (existsSync(new URL(name, SHARED))) expect(copy).toEqual(vectors<unknown>(name, SHARED))
    }
  })

  it.each(vectors<GenerateVector>('generate.json'))('generate: $src at $now', (vector) => {
    const fernet = new Fernet(vector.secret)
    const token = fernet.encrypt(vector.src, { iv: Uint8Array.from(vector.iv), timestamp: unixSeconds(vector.now) })
    expect(token).toBe(vector.token)
  })

  it.each(vectors<VerifyVector>('verify.json'))('verify: $src at $now', (vector) => {
    const fernet = new Fernet(vector.secret)
    const plaintext = fernet.decrypt(vector.token, { ttlSeconds: vector.ttl_sec, now: unixSeconds(vector.now) })
    expect(plaintext.toString('utf8')).toBe(vector.src)
  })

  const expected: Record<string, SqsEnvelopeErrorCode> = {
    'incorrect mac': 'TOKEN_MAC',
    'too short': 'TOKEN_LENGTH',
    'invalid base64': 'TOKEN_ENCODING',
    'payload size not multiple of block size': 'TOKEN_LENGTH',
    'payload padding error': 'TOKEN_PADDING',
    'far-future TS (unacceptable clock skew)': 'TOKEN_FROM_FUTURE',
    'expired TTL': 'TOKEN_EXPIRED',
    'incorrect IV (causes padding error)': 'TOKEN_PADDING',
  }

  it('invalid.json holds exactly the 8 cases mapped here', () => {
    expect(vectors<InvalidVector>('invalid.json').map((v) => v.desc)).toEqual(Object.keys(expected))
  })

  it.each(vectors<InvalidVector>('invalid.json'))('invalid: $desc', (vector) => {
    const fernet = new Fernet(vector.secret)
    expectFailure(
      () => fernet.decrypt(vector.token, { ttlSeconds: vector.ttl_sec, now: unixSeconds(vector.now) }),
      expected[vector.desc] ?? 'OPTION_INVALID',
    )
  })
})

describe('Fernet round trips', () => {
  it('round-trips random bytes of sizes 0..10,000 under random keys', () => {
    const sizes = [0, 1, 15, 16, 17, 31, 32, 33, 255, 256, 1024, 4095, 4096, 4097, 9999, 10_000]
    for (let i = 0; i < 24; i++) sizes.push(Math.floor(Math.random() * 10_001))
    for (const size of sizes) {
      const fernet = new Fernet(randomBytes(32))
      const data = randomBytes(size)
      const token = fernet.encrypt(data)
      // 57 bytes of framing plus the PKCS7-padded ciphertext, in padded base64.
      const tokenLength = 57 + (Math.floor(size / 16) + 1) * 16
      expect(token.length).toBe(Math.ceil(tokenLength / 3) * 4)
      expect(fernet.decrypt(token).equals(data)).toBe(true)
    }
  })

  it('writes large tokens (encoded in pieces, not copied) byte for byte as a token built in one buffer', () => {
    // From 8 KiB of ciphertext on, the token's base64 is written piece by piece: every length mod 3
    // (which decides the `=` padding) and the threshold's neighbours, for bytes and for strings.
    const fernet = new Fernet(KEY)
    const sizes = [8175, 8176, 8191, 8192, 8193, 8208, 8224, 65_536, 786_000]
    for (let extra = 0; extra < 48; extra += 16) sizes.push(20_000 + extra)
    for (const size of sizes) {
      const data = randomBytes(size)
      const cipher = createCipheriv('aes-128-cbc', KEY.subarray(16), IV)
      const header = Buffer.alloc(25)
      header[0] = 0x80
      header.writeBigUInt64BE(123456789n, 1)
      header.set(IV, 9)
      const signed = Buffer.concat([header, cipher.update(data), cipher.final()])
      const mac = createHmac('sha256', KEY.subarray(0, 16)).update(signed).digest()
      const expected = encodeUrlsafeBase64(Buffer.concat([signed, mac]))
      expect(fernet.encrypt(data, { iv: IV, timestamp: 123456789 })).toBe(expected)
      const text = data.toString('latin1')
      expect(fernet.decrypt(fernet.encrypt(text)).toString('utf8')).toBe(text)
    }
  })

  it('decrypts small tokens block by block and larger ones in one CBC pass, to the same plaintext', () => {
    // Up to 512 bytes of ciphertext one long-lived AES-ECB decipher per key does the AES part and the
    // CBC chaining is undone in JS; above, a CBC decipher per token. Every size across the threshold,
    // interleaved, so that no state can carry from one token to the next.
    const fernet = new Fernet(KEY)
    const tokens: Array<{ token: string; data: Buffer }> = []
    for (let size = 0; size <= 640; size += 7) {
      const data = randomBytes(size)
      tokens.push({ token: fernet.encrypt(data), data })
    }
    for (let round = 0; round < 2; round++) {
      for (const { token, data } of round === 0 ? tokens : [...tokens].reverse()) {
        const bytes = tokenBytes(token)
        const cbc = createDecipheriv('aes-128-cbc', KEY.subarray(16), bytes.subarray(9, 25))
        const reference = Buffer.concat([cbc.update(bytes.subarray(25, bytes.length - 32)), cbc.final()])
        expect(reference.equals(data)).toBe(true)
        expect(fernet.decrypt(token).equals(data)).toBe(true)
        expect(fernet.decryptBytes(bytes).equals(data)).toBe(true)
      }
    }
  })

  it('encodes a string as UTF-8', () => {
    const fernet = new Fernet(KEY)
    const text = 'héllo → 世界 🎉'
    expect(fernet.decrypt(fernet.encrypt(text)).toString('utf8')).toBe(text)
    expect(fernet.decrypt(fernet.encrypt(text)).equals(Buffer.from(text, 'utf8'))).toBe(true)
  })

  it('seals only the view of a Uint8Array subarray', () => {
    const fernet = new Fernet(KEY)
    const whole = Uint8Array.from([9, 9, 1, 2, 3, 9])
    expect([...fernet.decrypt(fernet.encrypt(whole.subarray(2, 5)))]).toEqual([1, 2, 3])
  })

  it('accepts the key as 32 bytes or as their urlsafe base64, with the same result', () => {
    const token = new Fernet(KEY).encrypt('x', { iv: IV, timestamp: 1 })
    expect(new Fernet(encodeUrlsafeBase64(KEY)).encrypt('x', { iv: IV, timestamp: 1 })).toBe(token)
  })

  it('writes the timestamp as 8 big-endian bytes, above 2^32 too', () => {
    const fernet = new Fernet(KEY)
    for (const timestamp of [0, 499162800, 2 ** 32 + 7, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
      const bytes = tokenBytes(fernet.encrypt('t', { timestamp }))
      expect(bytes[0]).toBe(0x80)
      expect(bytes.readBigUInt64BE(1)).toBe(BigInt(timestamp))
    }
  })

  it('defaults the timestamp to now, in whole seconds', () => {
    const before = Math.floor(Date.now() / 1000)
    const stamped = Number(tokenBytes(new Fernet(KEY).encrypt('t')).readBigUInt64BE(1))
    expect(stamped).toBeGreaterThanOrEqual(before)
    expect(stamped).toBeLessThanOrEqual(Math.floor(Date.now() / 1000))
  })

  it('uses a fresh IV for every token, across IV pool refills', () => {
    const fernet = new Fernet(KEY)
    const ivs = new Set<string>()
    for (let i = 0; i < 1000; i++) ivs.add(tokenBytes(fernet.encrypt('same')).subarray(9, 25).toString('hex'))
    expect(ivs.size).toBe(1000)
  })

  it('uses the given IV and timestamp, so output is reproducible', () => {
    const fernet = new Fernet(KEY)
    const token = fernet.encrypt('same', { iv: IV, timestamp: 42 })
    expect(fernet.encrypt('same', { iv: IV, timestamp: 42 })).toBe(token)
    expect(tokenBytes(token).subarray(9, 25).equals(IV)).toBe(true)
  })

  it('generateKey() gives distinct, usable 44-character urlsafe keys of 32 bytes', () => {
    const a = Fernet.generateKey()
    const b = Fernet.generateKey()
    expect(a).not.toBe(b)
    expect(a).toHaveLength(44)
    expect(decodeUrlsafeBase64(a)).toHaveLength(32)
    const fernet = new Fernet(a)
    expect(fernet.decrypt(fernet.encrypt('k')).toString()).toBe('k')
  })

  it('decrypts PKCS7 padding of a whole block (empty plaintext)', () => {
    expect(new Fernet(KEY).decrypt(forgeToken(KEY, Buffer.alloc(16, 16)))).toHaveLength(0)
  })
})

describe('Fernet tampering', () => {
  const fernet = new Fernet(KEY)
  const token = fernet.encrypt('a secret payload of 29 bytes.', { iv: IV, timestamp: 1000 })
  const bytes = tokenBytes(token)

  it('every single-byte flip fails: TOKEN_VERSION on byte 0, TOKEN_MAC elsewhere', () => {
    expect(bytes.length).toBe(57 + 32)
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const flipped = Buffer.from(bytes)
        flipped[i] = (flipped[i] ?? 0) ^ mask
        expectFailure(() => fernet.decrypt(encodeUrlsafeBase64(flipped)), i === 0 ? 'TOKEN_VERSION' : 'TOKEN_MAC')
      }
    }
  })

  it('every single-character change of the token string fails: encoding, version, MAC, or length at the padding', () => {
    const seen = new Set<SqsEnvelopeErrorCode>()
    for (let i = 0; i < token.length; i++) {
      for (const replacement of ['A', '-', '_', '=', '+', '%']) {
        if (token[i] === replacement) continue
        const changed = token.slice(0, i) + replacement + token.slice(i + 1)
        const { code } = failure(() => fernet.decrypt(changed))
        expect(['TOKEN_ENCODING', 'TOKEN_VERSION', 'TOKEN_MAC', 'TOKEN_LENGTH']).toContain(code)
        // Only moving the padding (its last two characters) can change the byte length.
        if (code === 'TOKEN_LENGTH') expect(i).toBeGreaterThanOrEqual(token.length - 2)
        seen.add(code)
      }
    }
    expect([...seen].sort()).toEqual(['TOKEN_ENCODING', 'TOKEN_LENGTH', 'TOKEN_MAC', 'TOKEN_VERSION'])
  })

  it('every truncation fails: TOKEN_LENGTH, or TOKEN_MAC when the length is still well-formed', () => {
    for (let length = 0; length < bytes.length; length++) {
      const wellFormed = length >= 73 && (length - 57) % 16 === 0
      expectFailure(
        () => fernet.decrypt(encodeUrlsafeBase64(bytes.subarray(0, length))),
        wellFormed ? 'TOKEN_MAC' : 'TOKEN_LENGTH',
      )
    }
  })

  it('truncating the token string breaks its encoding', () => {
    for (const cut of [1, 2, 3, 5]) expectFailure(() => fernet.decrypt(token.slice(0, -cut)), 'TOKEN_ENCODING')
  })

  it('appending a block fails the MAC', () => {
    expectFailure(() => fernet.decrypt(encodeUrlsafeBase64(Buffer.concat([bytes, randomBytes(16)]))), 'TOKEN_MAC')
  })

  it('a token sealed under another key fails the MAC', () => {
    expectFailure(() => new Fernet(randomBytes(32)).decrypt(token), 'TOKEN_MAC')
  })

  it('checks the MAC before the timestamp: a tampered expired token is TOKEN_MAC', () => {
    const tampered = Buffer.from(bytes)
    tampered[30] = (tampered[30] ?? 0) ^ 1
    expectFailure(() => fernet.decrypt(encodeUrlsafeBase64(tampered), { ttlSeconds: 1, now: 10_000 }), 'TOKEN_MAC')
  })
})

describe('Fernet timestamps', () => {
  const fernet = new Fernet(KEY)
  const token = fernet.encrypt('t', { timestamp: 1000 })

  it('accepts a token exactly ttlSeconds old and rejects it one second later', () => {
    expect(fernet.decrypt(token, { ttlSeconds: 60, now: 1060 }).toString()).toBe('t')
    expectFailure(() => fernet.decrypt(token, { ttlSeconds: 60, now: 1061 }), 'TOKEN_EXPIRED')
  })

  it('accepts a token 60 seconds ahead of now and rejects one 61 seconds ahead', () => {
    expect(FERNET_MAX_CLOCK_SKEW_SECONDS).toBe(60)
    expect(fernet.decrypt(token, { ttlSeconds: 60, now: 940 }).toString()).toBe('t')
    expectFailure(() => fernet.decrypt(token, { ttlSeconds: 60, now: 939 }), 'TOKEN_FROM_FUTURE')
  })

  it('compares a fractional now as given, as Python decrypt_at_time does', () => {
    expectFailure(() => fernet.decrypt(token, { ttlSeconds: 60, now: 1060.5 }), 'TOKEN_EXPIRED')
  })

  it('without ttlSeconds checks neither age nor skew, as Python Fernet.decrypt(token, ttl=None)', () => {
    expect(fernet.decrypt(token, { now: 0 }).toString()).toBe('t')
    expect(fernet.decrypt(token, { now: 1e12 }).toString()).toBe('t')
  })

  it('defaults now to the current time', () => {
    expect(fernet.decrypt(fernet.encrypt('fresh'), { ttlSeconds: 5 }).toString()).toBe('fresh')
    expectFailure(() => fernet.decrypt(token, { ttlSeconds: 60 }), 'TOKEN_EXPIRED')
    const farFuture = fernet.encrypt('t', { timestamp: Math.floor(Date.now() / 1000) + 3600 })
    expectFailure(() => fernet.decrypt(farFuture, { ttlSeconds: 60 }), 'TOKEN_FROM_FUTURE')
  })
})

describe('Fernet timestamps beyond 2^53 compare as integers, agreeing with Python', () => {
  const fernet = new Fernet(KEY)
  // 2^53 + 1 is not a double: as a number it would round to 2^53 and flip both answers below.
  const huge = 2n ** 53n + 1n
  const padded = Buffer.from('hello world!\u0004\u0004\u0004\u0004')
  const token = forgeTokenAt(huge)

  function forgeTokenAt(timestamp: bigint): string {
    const bytes = tokenBytes(forgeToken(KEY, padded))
    bytes.writeBigUInt64BE(timestamp, 1)
    const macOffset = bytes.length - 32
    createHmac('sha256', KEY.subarray(0, 16)).update(bytes.subarray(0, macOffset)).digest().copy(bytes, macOffset)
    return encodeUrlsafeBase64(bytes)
  }

  it('rejects 2^53 + 1 as from the future at now = 2^53 - 60 (Python: 2^53 - 60 + 60 < 2^53 + 1)', () => {
    expectFailure(() => fernet.decrypt(token, { ttlSeconds: 1, now: 2 ** 53 - 60 }), 'TOKEN_FROM_FUTURE')
  })

  it('accepts 2^53 + 1 with ttl 1 at now = 2^53 + 2 (Python: 2^53 + 2 < 2^53 + 2 is false)', () => {
    expect(fernet.decrypt(token, { ttlSeconds: 1, now: 2 ** 53 + 2 }).toString()).toBe('hello world!')
  })

  it('rejects the largest timestamp, 2^64 - 1, as from the future at any real now', () => {
    const largest = forgeTokenAt(2n ** 64n - 1n)
    expectFailure(() => fernet.decrypt(largest, { ttlSeconds: 1, now: 1e15 }), 'TOKEN_FROM_FUTURE')
    expect(fernet.decrypt(largest).toString()).toBe('hello world!')
  })
})

describe('Fernet.decryptBytes (a token decoded once)', () => {
  const fernet = new Fernet(KEY)

  it('opens what decrypt opens, with the same errors', () => {
    const token = fernet.encrypt('once', { timestamp: 1000 })
    expect(fernet.decryptBytes(tokenBytes(token)).toString()).toBe('once')
    const tampered = tokenBytes(token)
    tampered[30] = (tampered[30] ?? 0) ^ 1
    expectFailure(() => fernet.decryptBytes(tampered), 'TOKEN_MAC')
    expectFailure(() => fernet.decryptBytes(tokenBytes(token).subarray(0, 72)), 'TOKEN_LENGTH')
    expectFailure(() => fernet.decryptBytes(tokenBytes(token), { ttlSeconds: 1, now: 1002 }), 'TOKEN_EXPIRED')
    expectFailure(() => fernet.decryptBytes('x' as unknown as Uint8Array), 'TOKEN_ENCODING')
  })
})

describe('Fernet preconditions', () => {
  const fernet = new Fernet(KEY)
  const token = fernet.encrypt('p')

  it('Fernet key must be 32 bytes, or their 44-character urlsafe base64 with padding', () => {
    const precondition = 'Fernet key must be 32 bytes, or their 44-character urlsafe base64 with padding'
    const wrong: unknown[] = [
      randomBytes(31),
      randomBytes(33),
      new Uint8Array(0),
      encodeUrlsafeBase64(randomBytes(31)),
      encodeUrlsafeBase64(KEY).slice(0, 43),
      KEY.toString('base64url'), // no padding
      Buffer.from([0xfb, ...randomBytes(31)]).toString('base64'), // standard alphabet
      '',
      42,
      null,
      undefined,
    ]
    for (const key of wrong) expectFailure(() => new Fernet(key as string), 'KEY_INVALID', precondition)
  })

  it('Fernet must not be used after destroy()', () => {
    const doomed = new Fernet(KEY)
    const sealed = doomed.encrypt('before')
    doomed.destroy()
    doomed.destroy() // idempotent
    expectFailure(() => doomed.encrypt('after'), 'CLOSED', 'Fernet must not be used after destroy()')
    expectFailure(() => doomed.decrypt(sealed), 'CLOSED', 'Fernet must not be used after destroy()')
  })

  it('data must be a string or a Uint8Array', () => {
    for (const data of [42, null, undefined, { a: 1 }, [1, 2]]) {
      expectFailure(
        () => fernet.encrypt(data as unknown as string),
        'PAYLOAD_UNSEALABLE',
        'data must be a string or a Uint8Array',
      )
    }
  })

  it('iv must be a Uint8Array of 16 bytes', () => {
    const { code, message } = failure(() => fernet.encrypt('x', { iv: new Uint8Array(12) }))
    expect(code).toBe('OPTION_INVALID')
    expect(message).toBe('iv must be a Uint8Array of 16 bytes; received a Uint8Array of 12 bytes')
    expectFailure(
      () => fernet.encrypt('x', { iv: 'abcdefghijklmnop' as unknown as Uint8Array }),
      'OPTION_INVALID',
      'iv must be a Uint8Array of 16 bytes',
    )
  })

  it('timestamp must be a non-negative integer of Unix seconds', () => {
    for (const timestamp of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      const { code, message } = failure(() => fernet.encrypt('x', { timestamp }))
      expect(code).toBe('OPTION_INVALID')
      expect(message).toBe(`timestamp must be a non-negative integer of Unix seconds; received ${String(timestamp)}`)
    }
  })

  it('ttlSeconds must be a positive integer', () => {
    for (const ttlSeconds of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const { code, message } = failure(() => fernet.decrypt(token, { ttlSeconds }))
      expect(code).toBe('OPTION_INVALID')
      expect(message).toBe(`ttlSeconds must be a positive integer; received ${String(ttlSeconds)}`)
    }
    expectFailure(
      () => fernet.decrypt(token, { ttlSeconds: '60' as unknown as number }),
      'OPTION_INVALID',
      'ttlSeconds must be a positive integer',
    )
  })

  it('now must be a non-negative finite number of Unix seconds', () => {
    for (const now of [-1, Number.NaN, Number.POSITIVE_INFINITY, '1000' as unknown as number]) {
      expectFailure(
        () => fernet.decrypt(token, { ttlSeconds: 60, now }),
        'OPTION_INVALID',
        'now must be a non-negative finite number of Unix seconds',
      )
    }
  })

  it('token must be urlsafe base64 with padding', () => {
    const precondition = 'token must be urlsafe base64 with padding'
    expectFailure(() => fernet.decrypt(token.replace(/=+$/, '')), 'TOKEN_ENCODING', precondition)
    expectFailure(() => fernet.decrypt(`${token.slice(0, 4)}+${token.slice(5)}`), 'TOKEN_ENCODING', precondition)
    expectFailure(() => fernet.decrypt(` ${token.slice(1)}`), 'TOKEN_ENCODING', precondition)
    expectFailure(() => fernet.decrypt(42 as unknown as string), 'TOKEN_ENCODING', precondition)
  })

  it('token must be at least 73 bytes, of which the ciphertext is whole 16-byte blocks', () => {
    const precondition = 'token must be at least 73 bytes, of which the ciphertext is whole 16-byte blocks'
    expectFailure(() => fernet.decrypt(''), 'TOKEN_LENGTH', precondition)
    expectFailure(() => fernet.decrypt(encodeUrlsafeBase64(Buffer.alloc(72, 0x80))), 'TOKEN_LENGTH', precondition)
    expectFailure(() => fernet.decrypt(encodeUrlsafeBase64(Buffer.alloc(74, 0x80))), 'TOKEN_LENGTH', precondition)
    // A well-formed length reaches the next checks.
    expectFailure(() => fernet.decrypt(encodeUrlsafeBase64(Buffer.alloc(73, 0x80))), 'TOKEN_MAC')
  })

  it('token must start with version byte 0x80', () => {
    const bytes = tokenBytes(token)
    for (const version of [0x00, 0x7f, 0x81, 0xff]) {
      bytes[0] = version
      expectFailure(
        () => fernet.decrypt(encodeUrlsafeBase64(bytes)),
        'TOKEN_VERSION',
        'token must start with version byte 0x80',
      )
    }
  })

  it('token HMAC must verify under the signing key', () => {
    const otherSigningKey = Buffer.concat([randomBytes(16), KEY.subarray(16)])
    expectFailure(
      () => new Fernet(otherSigningKey).decrypt(token),
      'TOKEN_MAC',
      'token HMAC must verify under the signing key',
    )
  })

  it('token must not be older than ttlSeconds', () => {
    expectFailure(
      () => fernet.decrypt(fernet.encrypt('old', { timestamp: 100 }), { ttlSeconds: 10, now: 111 }),
      'TOKEN_EXPIRED',
      'token must not be older than ttlSeconds',
    )
  })

  it('token timestamp must not be more than 60 seconds ahead of now', () => {
    expectFailure(
      () => fernet.decrypt(fernet.encrypt('new', { timestamp: 200 }), { ttlSeconds: 10, now: 139 }),
      'TOKEN_FROM_FUTURE',
      'token timestamp must not be more than 60 seconds ahead of now',
    )
  })

  it('token plaintext must end in valid PKCS7 padding', () => {
    const precondition = 'token plaintext must end in valid PKCS7 padding'
    const block = (...tail: number[]) => Buffer.concat([Buffer.alloc(16 - tail.length, 0x61), Buffer.from(tail)])
    for (const padded of [block(0), block(17), block(0xff), block(1, 2), block(3, 2, 3, 3), Buffer.alloc(32, 0x61)]) {
      expectFailure(() => fernet.decrypt(forgeToken(KEY, padded)), 'TOKEN_PADDING', precondition)
    }
    // Correct padding of each length in the same shape decrypts.
    for (let pad = 1; pad <= 16; pad++) {
      const padded = block(...Array.from({ length: pad }, () => pad))
      expect(fernet.decrypt(forgeToken(KEY, padded))).toHaveLength(16 - pad)
    }
  })
})

describe('Fernet key secrecy', () => {
  // A key whose bytes, hex and base64 are all easy to spot.
  const keyBytes = Buffer.from('MARKER-KEY-MARKER-KEY-MARKER-KEY', 'latin1')
  const spotted = [
    'MARKER',
    keyBytes.toString('hex'),
    keyBytes.toString('base64').slice(0, 16),
    encodeUrlsafeBase64(keyBytes).slice(0, 16),
  ]
  const expectNoKey = (text: string) => {
    for (const marker of spotted) expect(text).not.toContain(marker)
  }

  it('JSON.stringify, util.inspect, String and template literals show no key material', () => {
    expect(keyBytes).toHaveLength(32)
    for (const fernet of [new Fernet(keyBytes), new Fernet(encodeUrlsafeBase64(keyBytes))]) {
      expect(JSON.stringify(fernet)).toBe('{"key":"[redacted]"}')
      expect(inspect(fernet)).toBe('Fernet { key: [redacted] }')
      expect(String(fernet)).toBe('Fernet { key: [redacted] }')
      expectNoKey(JSON.stringify({ nested: fernet }))
      expectNoKey(inspect({ nested: fernet }, { showHidden: true, depth: Number.POSITIVE_INFINITY }))
      expectNoKey(`${fernet}`)
      expect(Object.keys(fernet)).toEqual([])
      expect(Object.getOwnPropertySymbols(fernet)).toEqual([])
    }
  })

  it('error messages never contain key, token or plaintext', () => {
    const fernet = new Fernet(keyBytes)
    const token = fernet.encrypt('MARKER plaintext', { timestamp: 1 })
    const messages = [
      failure(() => fernet.decrypt(token, { ttlSeconds: 1, now: 100 })).message,
      failure(() => fernet.decrypt(`${token.slice(0, -4)}AAAA`)).message,
      failure(() => new Fernet(`${encodeUrlsafeBase64(keyBytes).slice(0, -1)}`)).message,
      failure(() => new Fernet(keyBytes.subarray(0, 31))).message,
    ]
    for (const message of messages) {
      expectNoKey(message)
      expect(message).not.toContain(token.slice(10, 30))
    }
  })

  it('copies a Uint8Array key: the caller may wipe its array afterwards', () => {
    const callerKey = Buffer.from(KEY)
    const fernet = new Fernet(callerKey)
    const token = fernet.encrypt('copied')
    callerKey.fill(0)
    expect(fernet.decrypt(token).toString()).toBe('copied')
    expect(new Fernet(KEY).decrypt(fernet.encrypt('same key')).toString()).toBe('same key')
  })

  it('leaves the caller array untouched', () => {
    const callerKey = Buffer.from(KEY)
    new Fernet(callerKey).destroy()
    expect(callerKey.equals(KEY)).toBe(true)
  })

  it('zero-fills its decoded copy of a base64 key, so no key bytes stay on the JS heap', () => {
    const fill = vi.spyOn(Buffer.prototype, 'fill')
    try {
      new Fernet(encodeUrlsafeBase64(KEY))
      const wiped = fill.mock.calls.flatMap((args, i) => (args[0] === 0 ? [fill.mock.contexts[i] as Buffer] : []))
      expect(wiped).toHaveLength(1)
      expect(wiped[0]?.length).toBe(32)
      expect(wiped[0]?.every((byte) => byte === 0)).toBe(true)
    } finally {
      fill.mockRestore()
    }
  })

  it('destroy() zero-fills the key it holds', () => {
    const alloc = vi.spyOn(Buffer, 'allocUnsafeSlow')
    let fernet: Fernet
    let held: Buffer | undefined
    try {
      fernet = new Fernet(KEY)
      held = alloc.mock.results.map((r) => r.value as Buffer).find((b) => b.length === 32)
    } finally {
      alloc.mockRestore()
    }
    expect(held?.equals(KEY)).toBe(true)
    fernet.destroy()
    expect(held?.every((byte) => byte === 0)).toBe(true)
  })

  it('zero-fills its decoded copy even when the key is rejected', () => {
    const fill = vi.spyOn(Buffer.prototype, 'fill')
    try {
      expectFailure(() => new Fernet(encodeUrlsafeBase64(randomBytes(30))), 'KEY_INVALID')
      expect(fill.mock.calls.filter((args) => args[0] === 0)).toHaveLength(1)
    } finally {
      fill.mockRestore()
    }
  })
})
