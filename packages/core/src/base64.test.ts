import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decodeBase64Lenient, decodeUrlsafeBase64, encodeUrlsafeBase64 } from './base64.ts'

describe('encodeUrlsafeBase64', () => {
  it('pads like Python urlsafe_b64encode', () => {
    expect(encodeUrlsafeBase64(new Uint8Array([]))).toBe('')
    expect(encodeUrlsafeBase64(new Uint8Array([0xfb]))).toBe('-w==')
    expect(encodeUrlsafeBase64(new Uint8Array([0xfb, 0xff]))).toBe('-_8=')
    expect(encodeUrlsafeBase64(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_')
  })

  it('encodes only the view of a subarray, not its whole backing buffer', () => {
    const whole = Uint8Array.from([1, 2, 3, 4, 5, 6])
    expect(encodeUrlsafeBase64(whole.subarray(2, 4))).toBe(`${Buffer.from([3, 4]).toString('base64url')}=`)
  })

  it('round-trips random bytes of every length 0..64 and a large buffer', () => {
    for (let length = 0; length <= 64; length++) {
      const bytes = randomBytes(length)
      const encoded = encodeUrlsafeBase64(bytes)
      expect(encoded.length % 4).toBe(0)
      expect(decodeUrlsafeBase64(encoded)?.equals(bytes)).toBe(true)
    }
    const large = randomBytes(100_001)
    expect(decodeUrlsafeBase64(encodeUrlsafeBase64(large))?.equals(large)).toBe(true)
  })
})

describe('decodeUrlsafeBase64', () => {
  it('decodes the empty string to no bytes', () => {
    expect(decodeUrlsafeBase64('')?.length).toBe(0)
  })

  it.each([
    ['missing padding', '-_8'],
    ['length not a multiple of 4', '-_8=='],
    ['standard alphabet', '+/8='],
    ['mixed alphabets', '-/8='],
    ['character outside the alphabet', 'ab%d'],
    ['whitespace', 'AAEC AwQF'],
    ['non-ASCII character', 'AAé='],
    ['padding in the middle', 'AA==AAAA'],
    ['three padding characters', 'A==='],
    ['only padding', '===='],
    ['non-zero trailing bits before ==', 'AB=='],
    ['non-zero trailing bits before =', 'AAB='],
  ])('rejects %s', (_, input) => {
    expect(decodeUrlsafeBase64(input)).toBeUndefined()
  })

  it('rejects non-strings without throwing', () => {
    expect(decodeUrlsafeBase64(42 as unknown as string)).toBeUndefined()
    expect(decodeUrlsafeBase64(undefined as unknown as string)).toBeUndefined()
  })
})

describe('decodeBase64Lenient', () => {
  const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0xfe])

  it('accepts the urlsafe alphabet', () => {
    expect(decodeBase64Lenient('-_-__g==')?.equals(bytes)).toBe(true)
  })

  it('accepts the standard alphabet, as Python base64.b64encode writes it', () => {
    expect(bytes.toString('base64')).toBe('+/+//g==')
    expect(decodeBase64Lenient('+/+//g==')?.equals(bytes)).toBe(true)
  })

  it.each([
    ['mixed alphabets', '+_+//g=='],
    ['missing padding (standard)', '+/+//g'],
    ['non-zero trailing bits (standard)', '+/+//h=='],
    ['character outside both alphabets', '+/+/.g=='],
  ])('rejects %s', (_, input) => {
    expect(decodeBase64Lenient(input)).toBeUndefined()
  })
})
