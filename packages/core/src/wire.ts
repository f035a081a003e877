import { Buffer, isAscii, isUtf8 } from 'node:buffer'
import { decodeBase64Lenient, decodeUrlsafeBase64, decodeUrlsafeBase64Into, encodeUrlsafeBase64 } from './base64.ts'
import { assertValidContext, type EncryptionContext } from './context.ts'
import { SqsEnvelopeError } from './errors.ts'
import { needs } from './preconditions.ts'
import { describeValue } from './redaction.ts'

/*
 * Wire format v1: the SQS body is the JSON object
 *   {"encrypted_data_key": "<urlsafe base64 of the KMS CiphertextBlob>", "encrypted_message": "<Fernet token>"}
 * byte-identical to Python's json.dumps of the same dict; optional metadata
 * travels in message attributes, never in the body.
 */

/** Largest body {@link parseBody} accepts, in UTF-8 bytes: the SQS maximum message size (1 MiB). */
export const MAX_BODY_BYTES = 1_048_576

/** Largest KMS CiphertextBlob {@link parseBody} accepts, in bytes (the KMS maximum). */
export const MAX_DATA_KEY_BYTES = 6144

// Canonical base64 of MAX_DATA_KEY_BYTES is exactly this long: longer strings are rejected before decoding.
const MAX_DATA_KEY_CHARS = Math.ceil(MAX_DATA_KEY_BYTES / 3) * 4

/** The body fields of wire format v1. */
export interface ParsedBody {
  /** The KMS CiphertextBlob of the data key. */
  encryptedDataKey: Buffer
  /** The Fernet token as it appears in the body: strict urlsafe base64 with padding. */
  token: string
  /** The token decoded once: what {@link Fernet.decryptBytes} takes, so a large token is not decoded twice. */
  tokenBytes: Buffer
}

// The exact layout we and Python's json.dumps write (key order, `", "` and `": "`), read without a JSON parse.
const BODY_HEAD = '{"encrypted_data_key": "'
const BODY_MIDDLE = '", "encrypted_message": "'
const BODY_TAIL = '"}'

// One per data key: a sealer's data key seals many messages, so its base64 and the body's head are made once.
const bodyHeads = new WeakMap<Uint8Array, string>()

function bodyHead(encryptedDataKey: Uint8Array): string {
  let head = bodyHeads.get(encryptedDataKey)
  if (head === undefined) {
    head = BODY_HEAD + encodeUrlsafeBase64(encryptedDataKey) + BODY_MIDDLE
    bodyHeads.set(encryptedDataKey, head)
  }
  return head
}

/**
 * The body for a token that {@link Fernet.encrypt} just returned: written
 * as it is, since base64 never needs escaping. For the sealer's own use;
 * {@link encodeBody} checks its arguments first.
 */
export function bodyOf(encryptedDataKey: Uint8Array, token: string): string {
  return bodyHead(encryptedDataKey) + token + BODY_TAIL
}

/**
 * The SQS body for a sealed message. Key order and separators (`", "` and
 * `": "`) are those of Python's `json.dumps`, so both sides produce the same bytes.
 *
 * @throws SqsEnvelopeError `OPTION_INVALID` unless `encryptedDataKey` has 1
 * to 6144 bytes and `token` is non-empty strict urlsafe base64 with padding.
 */
export function encodeBody(encryptedDataKey: Uint8Array, token: string): string {
  needs(
    encryptedDataKey instanceof Uint8Array &&
      encryptedDataKey.length >= 1 &&
      encryptedDataKey.length <= MAX_DATA_KEY_BYTES,
    'OPTION_INVALID',
    () => `encryptedDataKey must be a Uint8Array of 1 to 6144 bytes; received ${describeValue(encryptedDataKey)}`,
  )
  needs(
    typeof token === 'string' && token.length > 0 && decodeUrlsafeBase64(token) !== undefined,
    'OPTION_INVALID',
    () =>
      `token must be non-empty urlsafe base64 with padding, as Fernet.encrypt returns it; received ${typeof token === 'string' ? `a string of ${token.length} characters` : describeValue(token)}`,
  )
  return bodyOf(encryptedDataKey, token)
}

function utf8LengthExceeds(s: string, limit: number): boolean {
  // A UTF-16 code unit takes 1 to 3 UTF-8 bytes: only lengths in between need counting.
  if (s.length > limit) return true
  if (s.length * 3 <= limit) return false
  return Buffer.byteLength(s, 'utf8') > limit
}

/**
 * Parses and checks a wire format v1 body. The data key may use the urlsafe
 * or the standard base64 alphabet (see {@link decodeBase64Lenient}); the token
 * is only checked to be non-empty urlsafe base64 with padding, the rest is
 * {@link Fernet.decrypt}'s job.
 *
 * A body in the exact layout {@link encodeBody} and Python's `json.dumps`
 * write is read directly; any other is checked by a JSON validator that
 * builds nothing (so deep nesting costs one linear pass) and then parsed by
 * `JSON.parse`. Both ways give the same result, or the same error.
 *
 * @throws SqsEnvelopeError `BODY_SIZE` (over {@link MAX_BODY_BYTES}),
 * `BODY_NOT_JSON`, `BODY_SHAPE`, `DATA_KEY_ENCODING`, `TOKEN_ENCODING`.
 */
export function parseBody(body: string): ParsedBody {
  const { encryptedDataKey, token, tokenBytes } = readBody(body, undefined)
  return { encryptedDataKey, token, tokenBytes }
}

const BODY_SIZE_MESSAGE = 'body must be at most 1,048,576 UTF-8 bytes'

/**
 * The fields of a body in our exact layout when both decode strictly; otherwise undefined (then JSON decides).
 * @internal exported for the tests that hold both paths to the same results.
 */
export function parseExactLayout(body: string): ParsedBody | undefined {
  const fields = exactLayoutFields(body, undefined, undefined)
  return fields && { encryptedDataKey: fields.encryptedDataKey, token: fields.token, tokenBytes: fields.tokenBytes }
}

/** A data key's base64 text with the blob it decoded to: {@link readBody} skips the decode when it sees the text again. */
export interface KnownDataKey {
  readonly text: string
  readonly blob: Buffer
}

/** @internal What the opener reads from a body: {@link ParsedBody} plus the data key's base64 text as written. */
export interface BodyFields extends ParsedBody {
  /** `encrypted_data_key` as it appears in the body, already checked (it decodes to `encryptedDataKey`). */
  dataKeyText: string
}

/**
 * @internal {@link parseBody} for the opener: same checks, order and errors, and the data key's text too.
 * When that text equals `known.text`, `known.blob` is returned for it instead of decoding it again
 * (a data key seals many messages in a row). The text may be a slice of `body`: copy it to keep it.
 * With `scratch`, a token in our exact layout that fits is decoded into it: `tokenBytes` is then a
 * view of `scratch`, valid until the next call with it.
 */
export function readBody(body: string, known: KnownDataKey | undefined, scratch?: Buffer): BodyFields {
  if (typeof body !== 'string')
    throw new SqsEnvelopeError('BODY_NOT_JSON', `body must be a string; received ${typeof body}`)
  // More UTF-16 units than the limit means more UTF-8 bytes too. A body in our exact layout is
  // ASCII (its fields are strict base64), so its length is its size and it needs no counting pass.
  needs(body.length <= MAX_BODY_BYTES, 'BODY_SIZE', BODY_SIZE_MESSAGE)
  return exactLayoutFields(body, known, scratch) ?? anyLayoutFields(body)
}

function exactLayoutFields(
  body: string,
  known: KnownDataKey | undefined,
  scratch: Buffer | undefined,
): BodyFields | undefined {
  if (!body.startsWith(BODY_HEAD) || !body.endsWith(BODY_TAIL)) return undefined
  const keyEnd = body.indexOf('"', BODY_HEAD.length)
  if (keyEnd < 0 || !body.startsWith(BODY_MIDDLE, keyEnd)) return undefined
  const tokenStart = keyEnd + BODY_MIDDLE.length
  const tokenEnd = body.length - BODY_TAIL.length
  if (tokenEnd <= tokenStart) return undefined
  // Strict base64 has no quote, backslash or control character, so each field is exactly its JSON string.
  const slice = body.slice(BODY_HEAD.length, keyEnd)
  // A slice and === (a memcmp) is several times faster than startsWith at an offset, which goes char by char.
  const isKnown = known !== undefined && slice === known.text
  const dataKeyText = isKnown ? known.text : slice
  const encryptedDataKey = isKnown ? known.blob : decodeDataKey(slice)
  if (encryptedDataKey === undefined) return undefined
  const token = body.slice(tokenStart, tokenEnd)
  const tokenBytes = scratch === undefined ? decodeUrlsafeBase64(token) : decodeUrlsafeBase64Into(token, scratch)
  return tokenBytes === undefined ? undefined : { dataKeyText, encryptedDataKey, token, tokenBytes }
}

function decodeDataKey(encoded: string): Buffer | undefined {
  if (encoded.length > MAX_DATA_KEY_CHARS) return undefined
  const bytes = decodeBase64Lenient(encoded)
  return bytes !== undefined && bytes.length >= 1 ? bytes : undefined
}

/** @internal The general path: any JSON layout. Exported for the tests that hold both paths to the same results. */
export function parseAnyLayout(body: string): ParsedBody {
  const { encryptedDataKey, token, tokenBytes } = anyLayoutFields(body)
  return { encryptedDataKey, token, tokenBytes }
}

function anyLayoutFields(body: string): BodyFields {
  needs(!utf8LengthExceeds(body, MAX_BODY_BYTES), 'BODY_SIZE', BODY_SIZE_MESSAGE)
  const depth = jsonDepth(body)
  needs(depth >= 0, 'BODY_NOT_JSON', 'body must be valid JSON')
  // The validator has seen the whole text: JSON.parse cannot fail now, and runs only on flat JSON.
  const start = body.charCodeAt(skipWhitespace(body, 0))
  needs(start === OPEN_OBJECT, 'BODY_SHAPE', 'body must be a JSON object')
  const fields = (depth === 1 ? JSON.parse(body) : {}) as Record<string, unknown>
  const encryptedDataKey = fields.encrypted_data_key
  const token = fields.encrypted_message
  needs(
    typeof encryptedDataKey === 'string' && typeof token === 'string' && Object.keys(fields).length === 2,
    'BODY_SHAPE',
    'body must have exactly the string fields "encrypted_data_key" and "encrypted_message"',
  )
  const dataKey = decodeDataKey(encryptedDataKey)
  needs(
    dataKey !== undefined,
    'DATA_KEY_ENCODING',
    'encrypted_data_key must be padded base64 (urlsafe or standard) of 1 to 6144 bytes',
  )
  const tokenBytes = token.length > 0 ? decodeUrlsafeBase64(token) : undefined
  needs(tokenBytes !== undefined, 'TOKEN_ENCODING', 'encrypted_message must be non-empty urlsafe base64 with padding')
  return { dataKeyText: encryptedDataKey, encryptedDataKey: dataKey, token, tokenBytes }
}

const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c

function skipWhitespace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i
    i++
  }
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

/** The index after the JSON string starting at `i`, or -1. */
function skipString(text: string, i: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1
  for (i++; ; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) return i + 1
    if (Number.isNaN(c) || c < 0x20) return -1
    if (c === BACKSLASH) {
      const escaped = text.charCodeAt(++i)
      if (escaped === 0x75) {
        for (let k = 1; k <= 4; k++) if (!isHexDigit(text.charCodeAt(i + k))) return -1
        i += 4
      } else if ('"\\/bfnrt'.indexOf(String.fromCharCode(escaped)) < 0 || Number.isNaN(escaped)) {
        return -1
      }
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

function skipDigits(text: string, i: number): number {
  while (isDigit(text.charCodeAt(i))) i++
  return i
}

/** The index after the JSON number starting at `i`, or -1. */
function skipNumber(text: string, i: number): number {
  if (text.charCodeAt(i) === 0x2d) i++
  const first = text.charCodeAt(i)
  if (first === 0x30) i++
  else if (isDigit(first)) i = skipDigits(text, i)
  else return -1
  if (text.charCodeAt(i) === 0x2e) {
    if (!isDigit(text.charCodeAt(i + 1))) return -1
    i = skipDigits(text, i + 1)
  }
  const e = text.charCodeAt(i)
  if (e === 0x65 || e === 0x45) {
    i++
    const sign = text.charCodeAt(i)
    if (sign === 0x2b || sign === 0x2d) i++
    if (!isDigit(text.charCodeAt(i))) return -1
    i = skipDigits(text, i)
  }
  return i
}

/** The index after `name: ` of an object member starting at `i`, or -1. */
function skipMemberName(text: string, i: number): number {
  i = skipString(text, skipWhitespace(text, i))
  if (i < 0) return -1
  i = skipWhitespace(text, i)
  return text.charCodeAt(i) === COLON ? i + 1 : -1
}

// Runs of brackets are the costly case (a megabyte of `[[[…`); a sticky regular expression
// measures a run in native code, several times faster than a character loop.
const RUN_OF_OPENERS = /\[+/y
const RUN_OF_CLOSERS = /\]+/y
// The same for objects: a run of one repeated member opener (`{"a":{"a":…`, whitespace allowed, a
// name without escapes; `\1` repeats what the group matched) and a run of `}`. Runs of different
// member names take the character loop.
// biome-ignore lint/suspicious/noControlCharactersInRegex: a JSON string holds no unescaped control character.
const RUN_OF_MEMBER_OPENERS = /(\{[ \t\n\r]*"[^"\\\x00-\x1f]*"[ \t\n\r]*:[ \t\n\r]*)\1*/y
const RUN_OF_OBJECT_CLOSERS = /\}+/y

function runLength(run: RegExp, text: string, i: number): number {
  run.lastIndex = i
  return run.test(text) ? run.lastIndex - i : 0
}

// Above any depth or run length in a text of up to 2^26 characters (parseBody reads at most 2^20),
// with end × RUN_SCALE + length still an exact number.
const RUN_SCALE = 2 ** 26

/** Whether `text` repeats its characters from `start` to `end` right after `end`. */
function isRepeated(text: string, start: number, end: number): boolean {
  for (let k = 0; k < end - start; k++) if (text.charCodeAt(start + k) !== text.charCodeAt(end + k)) return false
  return true
}

/**
 * The deepest nesting of `text` if it is JSON as `JSON.parse` accepts it
 * (RFC 8259), or -1. Builds no values and uses no recursion: only the depths
 * of open objects are kept (as runs of consecutive depths), so a megabyte of
 * `[[[…` or `{"a":{"a":…` costs a few linear passes, not a parse. For texts of
 * up to 2^26 characters.
 */
export function jsonDepth(text: string): number {
  const length = text.length
  // Open objects as runs of consecutive depths: the innermost run ends at depth innermostObject
  // and is innermostRun levels deep; the levels above it are arrays. Enclosing runs are on
  // `runs` as end × RUN_SCALE + length, innermost last (one number each: a stack of doubles).
  const runs: number[] = []
  let innermostObject = 0
  let innermostRun = 0
  let depth = 0
  let maxDepth = 0
  let i = 0
  for (;;) {
    // A value starts here.
    i = skipWhitespace(text, i)
    let c = text.charCodeAt(i)
    let empty = false
    while (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (c === OPEN_ARRAY) {
        const run = runLength(RUN_OF_OPENERS, text, i)
        depth += run
        i = skipWhitespace(text, i + run)
        if (depth > maxDepth) maxDepth = depth
        if (text.charCodeAt(i) === CLOSE_ARRAY) {
          // `[]` is a whole value.
          depth--
          i++
          empty = true
          break
        }
      } else {
        const start = i
        depth++
        if (depth > maxDepth) maxDepth = depth
        i = skipWhitespace(text, i + 1)
        if (text.charCodeAt(i) === CLOSE_OBJECT) {
          // `{}` is a whole value.
          depth--
          i++
          empty = true
          break
        }
        if (innermostRun > 0 && innermostObject === depth - 1) {
          innermostRun++
        } else {
          runs.push(innermostObject * RUN_SCALE + innermostRun)
          innermostRun = 1
        }
        innermostObject = depth
        i = skipMemberName(text, i)
        if (i < 0) return -1
        i = skipWhitespace(text, i)
        if (text.charCodeAt(i) === OPEN_OBJECT && isRepeated(text, start, i)) {
          // Copies of this member opener (`{"a":{"a":…`), all at once. The expression's first
          // copy is the one just read (both take all whitespace), so the run is whole copies of it.
          const unit = i - start
          const more = runLength(RUN_OF_MEMBER_OPENERS, text, start) / unit - 1
          if (more > 0) {
            depth += more
            if (depth > maxDepth) maxDepth = depth
            innermostRun += more
            innermostObject = depth
            i += more * unit
          }
        }
      }
      c = text.charCodeAt(i)
    }
    if (!empty) {
      if (c === QUOTE) i = skipString(text, i)
      else if (c === 0x74) i = text.startsWith('true', i) ? i + 4 : -1
      else if (c === 0x66) i = text.startsWith('false', i) ? i + 5 : -1
      else if (c === 0x6e) i = text.startsWith('null', i) ? i + 4 : -1
      else i = skipNumber(text, i)
      if (i < 0) return -1
    }
    // A value ended: close containers until one continues with a comma, or the text ends.
    for (;;) {
      i = skipWhitespace(text, i)
      if (depth === 0) return i === length ? maxDepth : -1
      const next = text.charCodeAt(i)
      const inObject = depth === innermostObject
      if (next === CLOSE_ARRAY && !inObject) {
        // Close as many arrays as the run has, down to the innermost object at most.
        const run = Math.min(runLength(RUN_OF_CLOSERS, text, i), depth - innermostObject)
        depth -= run
        i += run
        continue
      }
      if (next === CLOSE_OBJECT && inObject) {
        // Close as many objects as the run of `}` has, down to the end of the innermost run of objects.
        const run = Math.min(runLength(RUN_OF_OBJECT_CLOSERS, text, i), innermostRun)
        depth -= run
        i += run
        innermostRun -= run
        innermostObject -= run
        if (innermostRun === 0) {
          const enclosing = runs.pop() ?? 0
          innermostObject = Math.floor(enclosing / RUN_SCALE)
          innermostRun = enclosing % RUN_SCALE
        }
        continue
      }
      if (next !== COMMA) return -1
      i = inObject ? skipMemberName(text, i + 1) : i + 1
      if (i < 0) return -1
      break
    }
  }
}

/** Attribute carrying the wire format version, `"1"`. */
export const ATTRIBUTE_VERSION = 'SqsEnvelope.Version'
/** Attribute carrying the payload's MIME type (see {@link ContentType}). */
export const ATTRIBUTE_CONTENT_TYPE = 'SqsEnvelope.ContentType'
/** Attribute carrying the KMS encryption context as a JSON object of strings. */
export const ATTRIBUTE_CONTEXT = 'SqsEnvelope.Context'

/** The wire format version this library writes and reads. */
export const WIRE_VERSION = 1

/**
 * How a payload is encoded before sealing: `text` (UTF-8 string, the default
 * and what a Python sender without attributes sends), `json` (a value, via
 * JSON.stringify), `bytes` (raw bytes).
 */
export type ContentType = 'text' | 'json' | 'bytes'

/** The content types, in no particular order. */
export const CONTENT_TYPES: readonly ContentType[] = ['text', 'json', 'bytes']

const MIME_BY_CONTENT_TYPE: Readonly<Record<ContentType, string>> = {
  text: 'text/plain; charset=utf-8',
  json: 'application/json',
  bytes: 'application/octet-stream',
}

const CONTENT_TYPE_BY_MIME: ReadonlyMap<string, ContentType> = new Map(
  CONTENT_TYPES.map((type) => [MIME_BY_CONTENT_TYPE[type], type]),
)

const KNOWN_MIME_TYPES = [...CONTENT_TYPE_BY_MIME.keys()].map((mime) => JSON.stringify(mime)).join(', ')

function isContentType(value: unknown): value is ContentType {
  return typeof value === 'string' && Object.hasOwn(MIME_BY_CONTENT_TYPE, value)
}

/** A String message attribute; structurally an SQS `MessageAttributeValue`. */
export interface StringMessageAttribute {
  DataType: 'String'
  StringValue: string
}

/** The message attributes {@link encodeAttributes} returns; fits SQS `SendMessage`'s `MessageAttributes`. */
export type MessageAttributes = Record<string, StringMessageAttribute>

/** Message attributes as received from SQS (any of them, ours or not); an SDK `Message['MessageAttributes']` fits. */
export type ReceivedAttributes = Record<
  string,
  { DataType?: string | undefined; StringValue?: string | undefined } | undefined
>

/** What the attributes of a wire format v1 message say. */
export interface EnvelopeAttributes {
  version: 1
  contentType: ContentType
  /** The KMS encryption context the data key was generated under, when the sender sent one. */
  encryptionContext?: Record<string, string>
}

function isStringRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  for (const key in value) {
    if (typeof (value as Record<string, unknown>)[key] !== 'string') return false
  }
  return true
}

/**
 * The message attributes of a sealed message: version, content type and,
 * when given and non-empty, the encryption context (keys sorted, so equal
 * contexts give equal attributes).
 *
 * @throws SqsEnvelopeError `OPTION_INVALID` for an unknown content type or a
 * context that is not an object of strings.
 */
export function encodeAttributes(options: {
  contentType?: ContentType
  encryptionContext?: Readonly<Record<string, string>> | undefined
}): MessageAttributes {
  const contentType = options.contentType ?? 'text'
  needs(
    isContentType(contentType),
    'OPTION_INVALID',
    () => `contentType must be 'text', 'json' or 'bytes'; received ${describeValue(contentType)}`,
  )
  const attributes: MessageAttributes = {
    [ATTRIBUTE_VERSION]: { DataType: 'String', StringValue: String(WIRE_VERSION) },
    [ATTRIBUTE_CONTENT_TYPE]: { DataType: 'String', StringValue: MIME_BY_CONTENT_TYPE[contentType] },
  }
  const context = options.encryptionContext
  if (context !== undefined) {
    // The opener's rules, so that nothing is sealed that could never be opened (`__proto__` would
    // vanish from the attribute below while KMS still binds it).
    assertValidContext(context, 'OPTION_INVALID', 'encryptionContext')
    const keys = Object.keys(context).sort()
    if (keys.length > 0) {
      const sorted: Record<string, string> = {}
      for (const key of keys) sorted[key] = context[key] as string
      attributes[ATTRIBUTE_CONTEXT] = { DataType: 'String', StringValue: JSON.stringify(sorted) }
    }
  }
  return attributes
}

function stringAttribute(attributes: ReceivedAttributes, name: string): string | undefined {
  const attribute = attributes[name]
  if (attribute === undefined) return undefined
  // Per message, so no message closure (see needs()): the check is written out.
  if (
    attribute === null ||
    typeof attribute !== 'object' ||
    attribute.DataType !== 'String' ||
    typeof attribute.StringValue !== 'string'
  ) {
    throw new SqsEnvelopeError(
      'ATTRIBUTE_INVALID',
      `message attribute ${name} must be of DataType String with a StringValue`,
    )
  }
  return attribute.StringValue
}

/**
 * Reads our attributes, ignoring all others. Each of ours is optional: no
 * version means 1, no content type means text (a Python sender sends none).
 *
 * @throws SqsEnvelopeError `ATTRIBUTE_INVALID` for an unknown version or
 * content type, or a context that is not a JSON object of strings.
 */
export function parseAttributes(attributes: ReceivedAttributes | undefined): EnvelopeAttributes {
  const { contentType, encryptionContext } = readAttributes(attributes, undefined, false)
  return encryptionContext === undefined
    ? { version: 1, contentType }
    : { version: 1, contentType, encryptionContext: encryptionContext as Record<string, string> }
}

/** @internal A context attribute read before: its text and the frozen context it gave. */
export interface KnownContext {
  readonly text: string
  readonly context: EncryptionContext
}

/** @internal What the opener reads from the attributes. */
export interface AttributeFields {
  readonly contentType: ContentType
  readonly encryptionContext: EncryptionContext | undefined
  /** The context attribute's text, when there is one. */
  readonly contextText: string | undefined
}

/**
 * @internal {@link parseAttributes} for the opener: same checks, order and errors. A context
 * attribute whose text is `known.text` gives `known.context` without parsing or checking it
 * again (messages come in runs with one context); a new one is frozen when `freeze` is set.
 */
export function readAttributes(
  attributes: ReceivedAttributes | undefined,
  known: KnownContext | undefined,
  freeze: boolean,
): AttributeFields {
  if (attributes === undefined || attributes === null) {
    return { contentType: 'text', encryptionContext: undefined, contextText: undefined }
  }
  const version = stringAttribute(attributes, ATTRIBUTE_VERSION)
  if (version !== undefined && version !== '1') {
    throw new SqsEnvelopeError(
      'ATTRIBUTE_INVALID',
      `message attribute ${ATTRIBUTE_VERSION} must be "1"; received ${describeValue(version)}`,
    )
  }
  const mime = stringAttribute(attributes, ATTRIBUTE_CONTENT_TYPE)
  const contentType = mime === undefined ? 'text' : CONTENT_TYPE_BY_MIME.get(mime)
  if (contentType === undefined) {
    throw new SqsEnvelopeError(
      'ATTRIBUTE_INVALID',
      `message attribute ${ATTRIBUTE_CONTENT_TYPE} must be one of ${KNOWN_MIME_TYPES}; received ${describeValue(mime)}`,
    )
  }
  const contextText = stringAttribute(attributes, ATTRIBUTE_CONTEXT)
  if (contextText === undefined) return { contentType, encryptionContext: undefined, contextText }
  if (known !== undefined && contextText === known.text) {
    return { contentType, encryptionContext: known.context, contextText }
  }
  let encryptionContext: unknown
  try {
    encryptionContext = JSON.parse(contextText)
  } catch {
    encryptionContext = undefined
  }
  needs(
    isStringRecord(encryptionContext),
    'ATTRIBUTE_INVALID',
    () => `message attribute ${ATTRIBUTE_CONTEXT} must be a JSON object of string values`,
  )
  assertValidContext(encryptionContext, 'ATTRIBUTE_INVALID', `message attribute ${ATTRIBUTE_CONTEXT}`)
  return { contentType, encryptionContext: freeze ? Object.freeze(encryptionContext) : encryptionContext, contextText }
}

/** What each content type accepts for sealing. */
export interface SealablePayloadByContentType {
  text: string
  json: unknown
  bytes: Uint8Array
}

/** What each content type yields when opened. */
export interface PayloadByContentType {
  text: string
  json: unknown
  bytes: Buffer
}

/**
 * Turns a payload into what {@link Fernet.encrypt} seals: the string itself
 * for text, JSON.stringify's output for json, the bytes themselves (not
 * copied) for bytes.
 *
 * @throws SqsEnvelopeError `PAYLOAD_UNSEALABLE` when the value does not fit
 * its content type (json: undefined, a function, a BigInt, a cycle...);
 * `OPTION_INVALID` for an unknown content type.
 */
export function encodePayload<T extends ContentType>(
  value: SealablePayloadByContentType[T],
  contentType: T,
): string | Uint8Array {
  switch (contentType) {
    case 'text':
      if (typeof value !== 'string') {
        throw new SqsEnvelopeError(
          'PAYLOAD_UNSEALABLE',
          `a text payload must be a string; received ${value === null ? 'null' : typeof value}`,
        )
      }
      return value
    case 'bytes':
      if (!(value instanceof Uint8Array)) {
        throw new SqsEnvelopeError(
          'PAYLOAD_UNSEALABLE',
          `a bytes payload must be a Uint8Array; received ${value === null ? 'null' : typeof value}`,
        )
      }
      return value
    case 'json': {
      let json: string | undefined
      try {
        json = JSON.stringify(value)
      } catch (error) {
        // No cause: its message may quote property names of the payload.
        const kind = error instanceof Error ? error.name : 'an error'
        throw new SqsEnvelopeError(
          'PAYLOAD_UNSEALABLE',
          `a json payload must be serialisable; JSON.stringify threw ${kind}`,
        )
      }
      needs(
        json !== undefined,
        'PAYLOAD_UNSEALABLE',
        () => `a json payload must be serialisable; JSON.stringify returned undefined for ${typeof value}`,
      )
      return json
    }
    default:
      throw new SqsEnvelopeError(
        'OPTION_INVALID',
        `contentType must be 'text', 'json' or 'bytes'; received ${describeValue(contentType)}`,
      )
  }
}

// ASCII (most JSON) decodes as latin1, the cheapest copy; anything else is checked by simdutf
// (isUtf8) before toString, which is half the time of a fatal TextDecoder on non-ASCII text.
// A BOM is kept, as toString keeps it.
function strictUtf8(bytes: Buffer, message: string): string {
  if (isAscii(bytes)) return bytes.toString('latin1')
  if (!isUtf8(bytes)) throw new SqsEnvelopeError('PAYLOAD_INVALID', message)
  return bytes.toString('utf8')
}

/**
 * Turns opened plaintext back into its payload: a string for text, the
 * parsed value for json, the Buffer itself for bytes. Text and json must be
 * valid UTF-8: a stray byte would otherwise turn silently into U+FFFD.
 *
 * @throws SqsEnvelopeError `PAYLOAD_INVALID` for invalid UTF-8 or JSON;
 * `OPTION_INVALID` for an unknown content type.
 */
export function decodePayload<T extends ContentType>(plaintext: Buffer, contentType: T): PayloadByContentType[T] {
  // The casts are sound: each branch returns the type of its own content type.
  switch (contentType) {
    case 'bytes':
      return plaintext as PayloadByContentType[T]
    case 'text':
      return strictUtf8(plaintext, 'a text payload must be valid UTF-8') as PayloadByContentType[T]
    case 'json': {
      const json = strictUtf8(plaintext, 'a json payload must be valid UTF-8')
      try {
        return JSON.parse(json) as PayloadByContentType[T]
      } catch {
        // No cause: V8's JSON.parse message quotes part of the plaintext.
        throw new SqsEnvelopeError('PAYLOAD_INVALID', 'a json payload must be valid JSON')
      }
    }
    default:
      throw new SqsEnvelopeError(
        'OPTION_INVALID',
        `contentType must be 'text', 'json' or 'bytes'; received ${describeValue(contentType)}`,
      )
  }
}
