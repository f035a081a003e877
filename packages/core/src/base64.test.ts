import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decodeBase64Lenient, decodeUrlsafeBase64, decodeUrlsafeBase64Into, encodeUrlsafeBase64 } from './base64.ts'
import { seededRandom } from './test-support/seeded-random.ts'

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

// The reference: the former implementation, which proved strictness by re-encoding (slow, obviously right).
function referenceUrlsafe(s: string): Buffer | undefined {
  if (typeof s !== 'string' || s.length % 4 !== 0) return undefined
  const bytes = Buffer.from(s, 'base64url')
  const canonical = bytes.toString('base64url')
  const padding = s.length - canonical.length
  if (padding < 0 || padding > 2 || s !== canonical + '='.repeat(padding)) return undefined
  return padding === (3 - (bytes.length % 3)) % 3 ? bytes : undefined
}

function referenceLenient(s: string): Buffer | undefined {
  const urlsafe = referenceUrlsafe(s)
  if (urlsafe !== undefined || typeof s !== 'string' || s.length % 4 !== 0) return urlsafe
  const bytes = Buffer.from(s, 'base64')
  return bytes.toString('base64') === s ? bytes : undefined
}

// Characters a mutation may write: both alphabets, padding, whitespace, controls, Latin-1 and
// characters whose low byte is a base64 letter (Node's decoder folds U+0141 onto 'A').
const MUTANTS = [
  ...'AQgw_-+/=9z \t\n\r\0.%"\\',
  '\u00e9',
  '\u00ff',
  '\u0080',
  '\u0141',
  '\u0161',
  '\u2d41',
  '\ud800',
  '😀',
]

function mutate(s: string, random: () => number): string {
  const pick = (n: number) => Math.floor(random() * n)
  const at = pick(s.length + 1)
  const char = MUTANTS[pick(MUTANTS.length)] as string
  switch (pick(4)) {
    case 0:
      return s.slice(0, at) + char + s.slice(at + 1) // replace
    case 1:
      return s.slice(0, at) + char + s.slice(at) // insert
    case 2:
      return s.slice(0, at) + s.slice(at + 1) // delete
    default:
      return s.slice(0, at) + char + s.slice(at + 1, s.length - 1) // replace and keep the length a multiple of 4
  }
}

describe('the strict checkers agree with re-encoding (the reference)', () => {
  const same = (actual: Buffer | undefined, expected: Buffer | undefined) =>
    actual === undefined ? expected === undefined : expected !== undefined && actual.equals(expected)
  // Small enough that inputs of either kind run: decoded in place, and too large for it.
  const scratch = Buffer.alloc(96)
  const into = (input: string) => decodeUrlsafeBase64Into(input, scratch)

  it('on valid encodings of every length 0..200 and on up to three mutations of each', () => {
    const random = seededRandom(7)
    let accepted = 0
    let rejected = 0
    for (let length = 0; length <= 200; length++) {
      for (let trial = 0; trial < 40; trial++) {
        const bytes = randomBytes(length)
        const urlsafe = encodeUrlsafeBase64(bytes)
        const standard = Buffer.from(bytes).toString('base64')
        for (let input of [urlsafe, standard]) {
          for (let mutations = 0; mutations <= 3; mutations++) {
            if (!same(decodeUrlsafeBase64(input), referenceUrlsafe(input)))
              throw new Error(`urlsafe: ${JSON.stringify(input)}`)
            if (!same(into(input), referenceUrlsafe(input))) throw new Error(`into: ${JSON.stringify(input)}`)
            if (!same(decodeBase64Lenient(input), referenceLenient(input)))
              throw new Error(`lenient: ${JSON.stringify(input)}`)
            if (referenceLenient(input) === undefined) rejected++
            else accepted++
            input = mutate(input, random)
          }
        }
      }
    }
    // Both outcomes were exercised many times over.
    expect(accepted).toBeGreaterThan(10_000)
    expect(rejected).toBeGreaterThan(10_000)
  })

  it('on every string of length 4 and 8 over a small alphabet of tricky characters', () => {
    const chars = ['A', 'B', 'w', '-', '_', '+', '/', '=', ' ', '\u0141', '\u00e9']
    let count = 0
    const check = (input: string) => {
      if (!same(decodeUrlsafeBase64(input), referenceUrlsafe(input)))
        throw new Error(`urlsafe: ${JSON.stringify(input)}`)
      if (!same(into(input), referenceUrlsafe(input))) throw new Error(`into: ${JSON.stringify(input)}`)
      if (!same(decodeBase64Lenient(input), referenceLenient(input)))
        throw new Error(`lenient: ${JSON.stringify(input)}`)
      count++
    }
    const all = (length: number, prefix: string): void => {
      if (prefix.length === length) check(prefix)
      else for (const c of chars) all(length, prefix + c)
    }
    all(4, '')
    const random = seededRandom(11)
    for (let i = 0; i < 50_000; i++) {
      let input = ''
      for (let j = 0; j < 8; j++) input += chars[Math.floor(random() * chars.length)]
      check(input)
    }
    expect(count).toBe(chars.length ** 4 + 50_000)
  })

  it('on large inputs with one character changed near either end or in the middle', () => {
    const encoded = encodeUrlsafeBase64(randomBytes(100_001))
    expect(decodeUrlsafeBase64(encoded)?.length).toBe(100_001)
    for (const at of [
      0,
      1,
      2,
      3,
      50_000,
      encoded.length - 5,
      encoded.length - 3,
      encoded.length - 2,
      encoded.length - 1,
    ]) {
      for (const char of MUTANTS) {
        const input = encoded.slice(0, at) + char + encoded.slice(at + 1)
        expect(same(decodeUrlsafeBase64(input), referenceUrlsafe(input))).toBe(true)
        expect(same(decodeUrlsafeBase64Into(input, Buffer.alloc(100_002)), referenceUrlsafe(input))).toBe(true)
        expect(same(decodeBase64Lenient(input), referenceLenient(input))).toBe(true)
      }
    }
  })
})
