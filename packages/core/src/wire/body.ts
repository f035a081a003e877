import { Buffer } from 'node:buffer'
import { decodeBase64Lenient, decodeUrlsafeBase64, decodeUrlsafeBase64Into, encodeUrlsafeBase64 } from '../base64.ts'
import { SqsEnvelopeError } from '../errors.ts'
import { needs } from '../preconditions.ts'
import { describeValue } from '../redaction.ts'
import { isJsonObject, jsonDepth } from './json-depth.ts'

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
  needs(isJsonObject(body), 'BODY_SHAPE', 'body must be a JSON object')
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
