import { isUtf8 } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { Fernet } from '../fernet.ts'
import { expectFailure, failure } from '../test-support/failure.ts'
import { encodeAttributes, parseAttributes } from './attributes.ts'
import { encodeBody, parseBody } from './body.ts'
import { type ContentType, decodePayload, encodePayload } from './payload.ts'

describe('payloads', () => {
  it('encodes text as itself, json with JSON.stringify and bytes without copying', () => {
    expect(encodePayload('héllo', 'text')).toBe('héllo')
    expect(encodePayload({ a: [1, 'two', null] }, 'json')).toBe('{"a":[1,"two",null]}')
    expect(encodePayload('a string', 'json')).toBe('"a string"')
    expect(encodePayload(null, 'json')).toBe('null')
    const bytes = randomBytes(8)
    expect(encodePayload(bytes, 'bytes')).toBe(bytes)
  })

  it.each([
    ['text: a number', 42, 'text'],
    ['text: a Buffer', Buffer.from('x'), 'text'],
    ['bytes: a string', 'x', 'bytes'],
    ['bytes: an array of numbers', [1, 2], 'bytes'],
    ['json: undefined', undefined, 'json'],
    ['json: a function', () => 1, 'json'],
    ['json: a symbol', Symbol('s'), 'json'],
    ['json: a BigInt', 10n, 'json'],
    [
      'json: a cycle',
      (() => {
        const cycle: Record<string, unknown> = {}
        cycle.self = cycle
        return cycle
      })(),
      'json',
    ],
  ] as const)('PAYLOAD_UNSEALABLE: %s', (_, value, contentType) => {
    expectFailure(() => encodePayload(value as never, contentType), 'PAYLOAD_UNSEALABLE')
  })

  it('PAYLOAD_INVALID: text with a lone surrogate, which UTF-8 would turn into U+FFFD, without quoting it', () => {
    for (const text of ['\ud800', 'SECRET \udfff', 'a\udbff\udbffz', '\udc00\ud800', `${'x'.repeat(70_000)}\ud834`]) {
      const { code, message } = failure(() => encodePayload(text, 'text'))
      expect(code).toBe('PAYLOAD_INVALID')
      expect(message).toMatch(/lone surrogate/)
      expect(message).not.toContain('SECRET')
    }
    // Well-formed: surrogate pairs, U+FFFD itself, and latin1 and empty strings.
    for (const text of ['😀', 'a\ud83d\ude00z', '\ufffd', 'héllo', '']) expect(encodePayload(text, 'text')).toBe(text)
  })

  it('json escapes a lone surrogate (JSON.stringify) and opens it back unchanged, so it seals as before', () => {
    const value = { note: 'a\ud800z', pair: '😀' }
    const json = encodePayload(value, 'json')
    expect(json).toBe('{"note":"a\\ud800z","pair":"😀"}')
    expect(decodePayload(Buffer.from(json as string), 'json')).toEqual(value)
  })

  it('PAYLOAD_UNSEALABLE does not quote the payload', () => {
    const cycle: Record<string, unknown> = { SECRETFIELD: 1 }
    cycle.SECRETFIELD = cycle
    expect(failure(() => encodePayload(cycle, 'json')).message).not.toContain('SECRETFIELD')
  })

  it('decodes text, json and bytes', () => {
    expect(decodePayload(Buffer.from('héllo'), 'text')).toBe('héllo')
    expect(decodePayload(Buffer.from('{"a":[1,"two"]}'), 'json')).toEqual({ a: [1, 'two'] })
    const plaintext = randomBytes(8)
    expect(decodePayload(plaintext, 'bytes')).toBe(plaintext)
  })

  it('PAYLOAD_INVALID: json that does not parse, without quoting it', () => {
    const { code, message } = failure(() => decodePayload(Buffer.from('{"SECRET": '), 'json'))
    expect(code).toBe('PAYLOAD_INVALID')
    expect(message).not.toContain('SECRET')
  })

  it('PAYLOAD_INVALID: text or json that is not UTF-8', () => {
    const invalid = Buffer.from([0x68, 0x69, 0xff])
    expectFailure(() => decodePayload(invalid, 'text'), 'PAYLOAD_INVALID')
    expectFailure(() => decodePayload(Buffer.from([0x22, 0xc3, 0x22]), 'json'), 'PAYLOAD_INVALID')
    expect(decodePayload(invalid, 'bytes')).toBe(invalid)
    // Overlong, a UTF-16 surrogate encoded as UTF-8, beyond U+10FFFF, a cut sequence: what isUtf8 rejects.
    for (const bytes of [
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0x61, 0xe2, 0x82],
    ]) {
      expect(isUtf8(Buffer.from(bytes))).toBe(false)
      expectFailure(() => decodePayload(Buffer.from(bytes), 'text'), 'PAYLOAD_INVALID')
    }
  })

  it('text keeps a leading BOM, as Buffer#toString does', () => {
    const withBom = Buffer.from('\ufeffhi')
    expect(decodePayload(withBom, 'text')).toBe(withBom.toString('utf8'))
    expect(decodePayload(withBom, 'text')).toHaveLength(3)
  })

  it('an unknown content type is OPTION_INVALID', () => {
    expectFailure(() => encodePayload('x', 'xml' as ContentType), 'OPTION_INVALID')
    expectFailure(() => decodePayload(Buffer.from('x'), 'xml' as ContentType), 'OPTION_INVALID')
  })

  it('types each content type precisely', () => {
    const plaintext = Buffer.from('1')
    expectTypeOf(decodePayload(plaintext, 'text')).toEqualTypeOf<string>()
    expectTypeOf(decodePayload(plaintext, 'json')).toEqualTypeOf<unknown>()
    expectTypeOf(decodePayload(plaintext, 'bytes')).toEqualTypeOf<Buffer>()
    expectTypeOf(encodePayload<'text'>)
      .parameter(0)
      .toEqualTypeOf<string>()
    expectTypeOf(encodePayload<'bytes'>)
      .parameter(0)
      .toEqualTypeOf<Uint8Array>()
    expect(decodePayload(plaintext, 'json')).toBe(1)
  })
})

describe('the whole wire path', () => {
  it('seals and opens each content type through Fernet, body and attributes', () => {
    const fernet = new Fernet(Fernet.generateKey())
    const dataKey = randomBytes(184) // a typical KMS CiphertextBlob size
    const cases = [
      ['text', 'héllo wörld'],
      ['json', { orderId: 42, items: ['a', 'b'], nested: { ok: true } }],
      ['bytes', randomBytes(300)],
    ] as const
    for (const [contentType, payload] of cases) {
      const sealedBody = encodeBody(dataKey, fernet.encrypt(encodePayload(payload, contentType)))
      const attributes = encodeAttributes({ contentType, encryptionContext: { tenant: 't1' } })
      const parsed = parseBody(sealedBody)
      const meta = parseAttributes(attributes)
      expect(parsed.encryptedDataKey.equals(dataKey)).toBe(true)
      expect(meta.encryptionContext).toEqual({ tenant: 't1' })
      expect(decodePayload(fernet.decrypt(parsed.token), meta.contentType)).toEqual(payload)
    }
  })
})
