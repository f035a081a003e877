import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { encodeUrlsafeBase64 } from '../base64.ts'
import { Fernet } from '../fernet.ts'
import { expectFailure, failure } from '../test-support/failure.ts'
import { seededRandom } from '../test-support/seeded-random.ts'
import { encodeBody, MAX_BODY_BYTES, MAX_DATA_KEY_BYTES, parseAnyLayout, parseBody, parseExactLayout } from './body.ts'

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
