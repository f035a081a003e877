import { isUtf8 } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { encodeUrlsafeBase64 } from './base64.ts'
import type { SqsEnvelopeErrorCode } from './errors.ts'
import { Fernet } from './fernet.ts'
import { failure } from './test-support/failure.ts'
import { seededRandom } from './test-support/seeded-random.ts'
import {
  ATTRIBUTE_CONTENT_TYPE,
  ATTRIBUTE_CONTEXT,
  ATTRIBUTE_VERSION,
  type ContentType,
  decodePayload,
  encodeAttributes,
  encodeBody,
  encodePayload,
  jsonDepth,
  MAX_BODY_BYTES,
  MAX_DATA_KEY_BYTES,
  parseAnyLayout,
  parseAttributes,
  parseBody,
  parseExactLayout,
  type ReceivedAttributes,
} from './wire.ts'

function expectFailure(fn: () => unknown, code: SqsEnvelopeErrorCode): void {
  expect(failure(fn).code).toBe(code)
}

// The Fernet spec's generate.json token: a real token, usable without a key here.
const TOKEN = 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=='
// Bytes whose base64 differs between the alphabets: urlsafe '-_8=', standard '+/8='.
const DATA_KEY = Buffer.from([0xfb, 0xff])

const body = (fields: Record<string, unknown>): string => JSON.stringify(fields)

describe('encodeBody', () => {
  it("is byte-identical to Python's json.dumps of the recipe's dict", () => {
    // Python: json.dumps({"encrypted_data_key": base64.urlsafe_b64encode(blob).decode(),
    //                     "encrypted_message": token.decode()})
    // json.dumps keeps dict insertion order, separates items with ', ' and keys from values with ': '
    // (its defaults when indent is None), adds no trailing newline, and escapes nothing here: base64
    // has no '"', '\\', control or non-ASCII characters (and Python does not escape '/').
    // urlsafe_b64encode(b'\xfb\xff') == b'-_8='.
    const python =
      '{"encrypted_data_key": "-_8=", "encrypted_message": "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=="}'
    expect(encodeBody(DATA_KEY, TOKEN)).toBe(python)
  })

  it('round-trips through parseBody', () => {
    for (const size of [1, 2, 3, 184, MAX_DATA_KEY_BYTES]) {
      const dataKey = randomBytes(size)
      const parsed = parseBody(encodeBody(dataKey, TOKEN))
      expect(parsed.encryptedDataKey.equals(dataKey)).toBe(true)
      expect(parsed.token).toBe(TOKEN)
    }
  })

  it('refuses a data key or token the receiving side would reject', () => {
    expectFailure(() => encodeBody(new Uint8Array(0), TOKEN), 'OPTION_INVALID')
    expectFailure(() => encodeBody(new Uint8Array(MAX_DATA_KEY_BYTES + 1), TOKEN), 'OPTION_INVALID')
    expectFailure(() => encodeBody(DATA_KEY, ''), 'OPTION_INVALID')
    expectFailure(() => encodeBody(DATA_KEY, undefined as unknown as string), 'OPTION_INVALID')
  })
})

describe('parseBody', () => {
  it('accepts the standard base64 alphabet for the data key (Python base64.b64encode)', () => {
    const parsed = parseBody(body({ encrypted_data_key: '+/8=', encrypted_message: TOKEN }))
    expect(parsed.encryptedDataKey.equals(DATA_KEY)).toBe(true)
  })

  it('accepts any JSON formatting and key order', () => {
    const compact = `{"encrypted_message":"${TOKEN}","encrypted_data_key":"-_8="}`
    const spaced = `\n {\n  "encrypted_data_key" :\t"-_8=" ,\n  "encrypted_message": "${TOKEN}"\n}\n`
    for (const text of [compact, spaced]) expect(parseBody(text).encryptedDataKey.equals(DATA_KEY)).toBe(true)
  })

  it('BODY_SIZE: accepts exactly 1 MiB of UTF-8 and rejects one byte more', () => {
    const valid = encodeBody(DATA_KEY, TOKEN)
    expect(MAX_BODY_BYTES).toBe(1_048_576)
    // JSON allows trailing whitespace, so padding keeps the body valid.
    const atLimit = valid + ' '.repeat(MAX_BODY_BYTES - valid.length)
    expect(parseBody(atLimit).token).toBe(TOKEN)
    expectFailure(() => parseBody(`${atLimit} `), 'BODY_SIZE')
    // Counted in UTF-8 bytes, not characters: 349,526 euro signs are 1,048,578 bytes.
    expectFailure(() => parseBody('€'.repeat(349_526)), 'BODY_SIZE')
    // More characters than a third of the limit, so counted, but within it in bytes.
    const multibyteAtLimit = `${valid.slice(0, -1)}, "x": "${'€'.repeat(345_000)}${'a'.repeat(10_000)}"}`
    expect(multibyteAtLimit.length).toBeGreaterThan(MAX_BODY_BYTES / 3)
    expect(Buffer.byteLength(multibyteAtLimit)).toBeLessThanOrEqual(MAX_BODY_BYTES)
    expectFailure(() => parseBody(multibyteAtLimit), 'BODY_SHAPE') // within size: reaches the shape check
  })

  it.each([
    ['empty', ''],
    ['not JSON', 'hello'],
    ['truncated', `{"encrypted_data_key": "-_8=", "encrypted_message": "${TOKEN}`],
    ['single quotes', "{'encrypted_data_key': '-_8='}"],
  ])('BODY_NOT_JSON: %s', (_, text) => {
    expectFailure(() => parseBody(text), 'BODY_NOT_JSON')
  })

  it('BODY_NOT_JSON: a non-string body', () => {
    expectFailure(() => parseBody(42 as unknown as string), 'BODY_NOT_JSON')
  })

  it('BODY_NOT_JSON does not quote the body', () => {
    const { message } = failure(() => parseBody('{"encrypted_data_key": SECRET-LOOKING'))
    expect(message).not.toContain('SECRET')
  })

  it.each([
    ['null', 'null'],
    ['an array', `["-_8=", "${TOKEN}"]`],
    ['a string', '"-_8="'],
    ['a number', '42'],
    ['an empty object', '{}'],
    ['a missing token', body({ encrypted_data_key: '-_8=' })],
    ['a missing data key', body({ encrypted_message: TOKEN })],
    ['an extra key', body({ encrypted_data_key: '-_8=', encrypted_message: TOKEN, v: '1' })],
    ['an extra __proto__ key', `{"encrypted_data_key": "-_8=", "encrypted_message": "${TOKEN}", "__proto__": {}}`],
    ['a numeric data key', body({ encrypted_data_key: 5, encrypted_message: TOKEN })],
    ['a null token', body({ encrypted_data_key: '-_8=', encrypted_message: null })],
    ['an object token', body({ encrypted_data_key: '-_8=', encrypted_message: { t: TOKEN } })],
    ['misspelt keys', body({ encrypted_datakey: '-_8=', encrypted_message: TOKEN })],
  ])('BODY_SHAPE: %s', (_, text) => {
    expectFailure(() => parseBody(text), 'BODY_SHAPE')
  })

  it.each([
    ['empty', ''],
    ['not base64', '%%%%'],
    ['missing padding', '-_8'],
    ['mixed alphabets', '-/8='],
    ['non-canonical trailing bits', '-_9='],
    ['whitespace', ' -_8='],
    ['over 6144 bytes decoded', encodeUrlsafeBase64(new Uint8Array(MAX_DATA_KEY_BYTES + 1))],
    ['a huge string', 'A'.repeat(100_000)],
  ])('DATA_KEY_ENCODING: %s', (_, dataKey) => {
    expectFailure(() => parseBody(body({ encrypted_data_key: dataKey, encrypted_message: TOKEN })), 'DATA_KEY_ENCODING')
  })

  it.each([
    ['empty', ''],
    ['standard alphabet', TOKEN.replaceAll('_', '/')],
    ['missing padding', TOKEN.replace(/=+$/, '')],
    ['a space', `${TOKEN.slice(0, 10)} ${TOKEN.slice(11)}`],
    ['non-ASCII', `é${TOKEN.slice(1)}`],
  ])('TOKEN_ENCODING: %s', (_, token) => {
    expectFailure(() => parseBody(body({ encrypted_data_key: '-_8=', encrypted_message: token })), 'TOKEN_ENCODING')
  })

  it('leaves the rest of token checking to Fernet', () => {
    // Valid base64 but far too short to be a token: parseBody passes it on.
    expect(parseBody(body({ encrypted_data_key: '-_8=', encrypted_message: 'gAAA' })).token).toBe('gAAA')
  })
})

describe('message attributes', () => {
  it('encodes version, content type and a sorted encryption context as String attributes', () => {
    expect(encodeAttributes({ contentType: 'json', encryptionContext: { queue: 'q', app: 'a' } })).toEqual({
      'SqsEnvelope.Version': { DataType: 'String', StringValue: '1' },
      'SqsEnvelope.ContentType': { DataType: 'String', StringValue: 'application/json' },
      'SqsEnvelope.Context': { DataType: 'String', StringValue: '{"app":"a","queue":"q"}' },
    })
    expect([ATTRIBUTE_VERSION, ATTRIBUTE_CONTENT_TYPE, ATTRIBUTE_CONTEXT]).toEqual([
      'SqsEnvelope.Version',
      'SqsEnvelope.ContentType',
      'SqsEnvelope.Context',
    ])
  })

  it('defaults to text and omits an absent or empty context', () => {
    const expected = {
      'SqsEnvelope.Version': { DataType: 'String', StringValue: '1' },
      'SqsEnvelope.ContentType': { DataType: 'String', StringValue: 'text/plain; charset=utf-8' },
    }
    expect(encodeAttributes({})).toEqual(expected)
    expect(encodeAttributes({ encryptionContext: {} })).toEqual(expected)
    expect(encodeAttributes({ contentType: 'bytes' })[ATTRIBUTE_CONTENT_TYPE]?.StringValue).toBe(
      'application/octet-stream',
    )
  })

  it('encodeAttributes refuses an unknown content type or a context of non-strings', () => {
    expectFailure(() => encodeAttributes({ contentType: 'xml' as ContentType }), 'OPTION_INVALID')
    const notStrings = { n: 1 } as unknown as Record<string, string>
    expectFailure(() => encodeAttributes({ encryptionContext: notStrings }), 'OPTION_INVALID')
    expectFailure(
      () => encodeAttributes({ encryptionContext: [] as unknown as Record<string, string> }),
      'OPTION_INVALID',
    )
  })

  it('round-trips every content type, with and without a context', () => {
    for (const contentType of ['text', 'json', 'bytes'] as const) {
      expect(parseAttributes(encodeAttributes({ contentType }))).toEqual({ version: 1, contentType })
      const encryptionContext = { 'aws:sqs:arn': 'arn:aws:sqs:us-east-1:000000000000:jobs', tenant: 'ü' }
      expect(parseAttributes(encodeAttributes({ contentType, encryptionContext }))).toEqual({
        version: 1,
        contentType,
        encryptionContext,
      })
    }
  })

  it('no attributes at all (a Python sender) means v1 text', () => {
    expect(parseAttributes(undefined)).toEqual({ version: 1, contentType: 'text' })
    expect(parseAttributes({})).toEqual({ version: 1, contentType: 'text' })
  })

  it('ignores attributes that are not ours, whatever they hold', () => {
    const attributes: ReceivedAttributes = {
      ...encodeAttributes({ contentType: 'json' }),
      Retry: { DataType: 'Number', StringValue: 'x' },
      'SqsEnvelope.Other': { DataType: 'Binary' },
      Empty: undefined,
    }
    expect(parseAttributes(attributes)).toEqual({ version: 1, contentType: 'json' })
    expect(parseAttributes({ Foo: { DataType: 'String', StringValue: '{' } })).toEqual({
      version: 1,
      contentType: 'text',
    })
  })

  it('each of ours is optional: a context alone means v1 text with that context', () => {
    const attributes = { [ATTRIBUTE_CONTEXT]: { DataType: 'String', StringValue: '{"a":"b"}' } }
    expect(parseAttributes(attributes)).toEqual({ version: 1, contentType: 'text', encryptionContext: { a: 'b' } })
  })

  const s = (StringValue: string) => ({ DataType: 'String', StringValue })
  it.each([
    ['version 2', { [ATTRIBUTE_VERSION]: s('2') }],
    ['version 1.0', { [ATTRIBUTE_VERSION]: s('1.0') }],
    ['version empty', { [ATTRIBUTE_VERSION]: s('') }],
    ['version as a Number attribute', { [ATTRIBUTE_VERSION]: { DataType: 'Number', StringValue: '1' } }],
    ['version without a StringValue', { [ATTRIBUTE_VERSION]: { DataType: 'String' } }],
    ['content type text/html', { [ATTRIBUTE_CONTENT_TYPE]: s('text/html') }],
    ['content type in API form', { [ATTRIBUTE_CONTENT_TYPE]: s('json') }],
    ['content type as Binary', { [ATTRIBUTE_CONTENT_TYPE]: { DataType: 'Binary' } }],
    ['context not JSON', { [ATTRIBUTE_CONTEXT]: s('a=b') }],
    ['context an array', { [ATTRIBUTE_CONTEXT]: s('["a"]') }],
    ['context null', { [ATTRIBUTE_CONTEXT]: s('null') }],
    ['context a string', { [ATTRIBUTE_CONTEXT]: s('"a"') }],
    ['context with a number value', { [ATTRIBUTE_CONTEXT]: s('{"a":1}') }],
    ['context with a nested object', { [ATTRIBUTE_CONTEXT]: s('{"a":{"b":"c"}}') }],
  ])('ATTRIBUTE_INVALID: %s', (_, attributes) => {
    expectFailure(() => parseAttributes(attributes), 'ATTRIBUTE_INVALID')
  })

  it('fits the SQS SDK shapes for sending and receiving', () => {
    const sent: Record<string, MessageAttributeValue> = encodeAttributes({ contentType: 'json' })
    const received: Message = { Body: '{}', MessageAttributes: sent }
    expect(parseAttributes(received.MessageAttributes).contentType).toBe('json')
  })
})

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

/** parseBody's outcome as data: the fields (as base64/strings) or the error's code and message. */
function outcome(parse: (body: string) => unknown, input: string): unknown {
  try {
    const parsed = parse(input) as { encryptedDataKey: Buffer; token: string; tokenBytes: Buffer }
    return {
      key: parsed.encryptedDataKey.toString('hex'),
      token: parsed.token,
      bytes: parsed.tokenBytes.toString('hex'),
    }
  } catch (error) {
    return failure(() => {
      throw error
    })
  }
}

describe('the exact-layout fast path and the JSON.parse path give the same results and errors', () => {
  const exact = encodeBody(DATA_KEY, TOKEN)
  const big = encodeBody(randomBytes(184), new Fernet(Fernet.generateKey()).encrypt(randomBytes(70_000)))
  const tokenAt = exact.indexOf(TOKEN)
  const cases: [string, string][] = [
    ['our exact layout', exact],
    ['a large body in our exact layout', big],
    ['standard alphabet data key', exact.replace('-_8=', '+/8=')],
    ['reversed key order', `{"encrypted_message": "${TOKEN}", "encrypted_data_key": "-_8="}`],
    ['compact separators', body({ encrypted_data_key: '-_8=', encrypted_message: TOKEN })],
    ['an escaped letter in the token', `${exact.slice(0, tokenAt)}\\u0067${exact.slice(tokenAt + 1)}`],
    ['an escaped slash in the token', `${exact.slice(0, tokenAt + 3)}\\/${exact.slice(tokenAt + 4)}`],
    ['a quote in the token', `${exact.slice(0, tokenAt + 3)}"${exact.slice(tokenAt + 4)}`],
    ['a raw control character in the token', `${exact.slice(0, tokenAt + 3)}\u0001${exact.slice(tokenAt + 4)}`],
    ['a raw tab in the data key', exact.replace('-_8=', '-_\t=')],
    ['a non-ASCII letter in the token', `${exact.slice(0, tokenAt + 3)}\u0141${exact.slice(tokenAt + 4)}`],
    ['a duplicated token field', `${exact.slice(0, -1)}, "encrypted_message": "${TOKEN}"}`],
    ['an extra field', `${exact.slice(0, -1)}, "x": "y"}`],
    ['trailing whitespace', `${exact} `],
    ['trailing garbage', `${exact}x`],
    ['an empty token', exact.replace(TOKEN, '')],
    ['an empty data key', exact.replace('-_8=', '')],
    ['a token without padding', exact.replace(TOKEN, TOKEN.slice(0, -2))],
    ['a number as token', exact.replace(`"${TOKEN}"`, '42')],
    ['nested token object', exact.replace(`"${TOKEN}"`, '{"a": "b"}')],
    ['an array body', `[${exact}]`],
    ['truncated', exact.slice(0, -1)],
    ['only the head', '{"encrypted_data_key": "'],
    ['head and middle only', '{"encrypted_data_key": "-_8=", "encrypted_message": "'],
    ['over 1 MiB of UTF-8 in fewer UTF-16 units', exact.replace(TOKEN, '€'.repeat(349_526))],
    ['middle inside the data key', '{"encrypted_data_key": "", "encrypted_message": "", "encrypted_message": ""}'],
  ]

  it.each(cases)('%s', (_, input) => {
    const general = outcome(parseAnyLayout, input)
    expect(outcome(parseBody, input)).toEqual(general)
    const fast = parseExactLayout(input)
    if (fast !== undefined) expect(outcome(() => fast, input)).toEqual(general)
  })

  it('takes the fast path for what encodeBody writes, and agrees on 2,000 single-character mutations of it', () => {
    expect(parseExactLayout(exact)).toBeDefined()
    expect(parseExactLayout(big)).toBeDefined()
    const random = seededRandom(5)
    const chars = ['A', '=', '"', '\\', ' ', '{', '}', ',', ':', '\u0000', '\u00e9', '\u0141', '+', '/', '-']
    let fastTaken = 0
    for (let i = 0; i < 2000; i++) {
      const at = Math.floor(random() * exact.length)
      const char = chars[Math.floor(random() * chars.length)] as string
      const input = exact.slice(0, at) + char + exact.slice(at + (random() < 0.5 ? 1 : 0))
      const general = outcome(parseAnyLayout, input)
      expect(outcome(parseBody, input)).toEqual(general)
      if (parseExactLayout(input) !== undefined) fastTaken++
    }
    // Some mutations keep the exact layout valid (e.g. a letter for a letter), most do not.
    expect(fastTaken).toBeGreaterThan(0)
    expect(fastTaken).toBeLessThan(2000)
  })
})

describe('jsonDepth (the validator that spares JSON.parse the deep cases)', () => {
  it.each([
    ['1', 0],
    [' "a" ', 0],
    ['[]', 1],
    ['{}', 1],
    ['{"a": [1, {"b": null}]}', 3],
    ['[[[[]]]]', 4],
    ['-0.5e+10', 0],
    ['"\\u00e9\\n\\"\\\\\\/"', 0],
    ['{"a":1,"a":2}', 1],
    ['{"a":{"a":{"a":1}}}', 3],
    ['{ "a" : { "a" : {"b":[{"a":{"a":{}}}]}}}', 7],
    ['[{"a":{"a":1},"b":{"a":{"a":[]}}}]', 5],
  ])('measures %s as depth %i', (input, depth) => {
    expect(() => JSON.parse(input)).not.toThrow()
    expect(jsonDepth(input)).toBe(depth)
  })

  it('accepts exactly what JSON.parse accepts, on 20,000 random short texts', () => {
    const random = seededRandom(9)
    const pieces = [
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '"a"',
      '\\',
      '\\u',
      '00e9',
      '\\n',
      '1',
      '-',
      '0',
      '.',
      'e',
      '+',
      'true',
      'fals',
      'null',
      ' ',
      '\t',
      '\u0001',
      '\u2028',
      'x',
    ]
    let valid = 0
    for (let i = 0; i < 20_000; i++) {
      let input = ''
      const length = 1 + Math.floor(random() * 8)
      for (let j = 0; j < length; j++) input += pieces[Math.floor(random() * pieces.length)]
      let parses = true
      try {
        JSON.parse(input)
      } catch {
        parses = false
      }
      if (parses) valid++
      if (jsonDepth(input) >= 0 !== parses) throw new Error(`disagrees with JSON.parse on ${JSON.stringify(input)}`)
    }
    expect(valid).toBeGreaterThan(500)
  })

  it('rejects a megabyte of nesting as BODY_NOT_JSON, or BODY_SHAPE once it is closed, without recursion', () => {
    const half = (MAX_BODY_BYTES - 2) / 2
    expectFailure(() => parseBody('['.repeat(MAX_BODY_BYTES)), 'BODY_NOT_JSON')
    expectFailure(() => parseBody('['.repeat(half) + ']'.repeat(half)), 'BODY_SHAPE')
    expectFailure(() => parseBody(`{"a":${'['.repeat(half - 4)}${']'.repeat(half - 4)}}`), 'BODY_SHAPE')
    const levels = Math.floor((MAX_BODY_BYTES - 1) / 6)
    expectFailure(() => parseBody('{"a":'.repeat(Math.floor(MAX_BODY_BYTES / 5))), 'BODY_NOT_JSON')
    expectFailure(() => parseBody(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`), 'BODY_SHAPE')
    expectFailure(() => parseBody(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels - 1)}]`), 'BODY_NOT_JSON')
    expect(
      jsonDepth(`${'{ "a" : '.repeat(1000)}[${'{"b":'.repeat(1000)}1${'}'.repeat(1000)}]${'}'.repeat(1000)}`),
    ).toBe(2001)
  })

  it('agrees with JSON.parse, and on the depth, on 5,000 random nestings of objects and arrays', () => {
    const random = seededRandom(17)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
    const names = ['"a"', '"a"', '"b"', '"\\u0061"', '""']
    const gaps = ['', '', ' ', '\n ']
    // A value nested up to `depth` levels, often repeating the same member opener; `spoil` may break it.
    const value = (depth: number): string => {
      if (depth === 0 || random() < 0.15) return pick(['1', '"x"', '{}', '[]', 'null'])
      if (random() < 0.3) {
        const items = Array.from({ length: 1 + Math.floor(random() * 2) }, () => value(depth - 1))
        return `[${items.join(',')}]`
      }
      const name = pick(names)
      const gap = pick(gaps)
      const members = [`${gap}${name}${gap}:${gap}${value(depth - 1)}`]
      if (random() < 0.3) members.push(`${pick(names)}:${value(depth - 1)}`)
      return `{${members.join(',')}${gap}}`
    }
    // For valid JSON, the depth is the deepest bracket outside strings.
    const bracketDepth = (text: string): number => {
      let depth = 0
      let deepest = 0
      for (let i = 0; i < text.length; i++) {
        const c = text[i]
        if (c === '"') {
          for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++
        } else if (c === '{' || c === '[') {
          deepest = Math.max(deepest, ++depth)
        } else if (c === '}' || c === ']') {
          depth--
        }
      }
      return deepest
    }
    const spoilers = [
      (t: string) => t,
      (t: string) => t.slice(0, -1),
      (t: string) => `${t.slice(0, -1)}]`,
      (t: string) => t.replace('}', ''),
      (t: string) => t.replace(':', ','),
    ]
    let valid = 0
    for (let i = 0; i < 5000; i++) {
      const input = pick(spoilers)(value(1 + Math.floor(random() * 12)))
      let parses = true
      try {
        JSON.parse(input)
      } catch {
        parses = false
      }
      if (parses) valid++
      const expected = parses ? bracketDepth(input) : -1
      if (jsonDepth(input) !== expected) throw new Error(`not depth ${expected}: ${JSON.stringify(input)}`)
    }
    expect(valid).toBeGreaterThan(1000)
  })
})
