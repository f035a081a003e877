import { Buffer, isUtf8 } from 'node:buffer'
import { decodeBase64Lenient, decodeUrlsafeBase64, encodeUrlsafeBase64 } from './base64.ts'
import { assertValidContext } from './context.ts'
import { SqsEnvelopeError } from './errors.ts'
import { needs } from './preconditions.ts'

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
  /** The Fernet token, checked here only for its alphabet and padding. */
  token: string
}

/**
 * The SQS body for a sealed message. Key order and separators (`", "` and
 * `": "`) are those of Python's `json.dumps`, so both sides produce the same bytes.
 */
export function encodeBody(encryptedDataKey: Uint8Array, token: string): string {
  needs(
    encryptedDataKey instanceof Uint8Array &&
      encryptedDataKey.length >= 1 &&
      encryptedDataKey.length <= MAX_DATA_KEY_BYTES,
    'OPTION_INVALID',
    `encryptedDataKey must be a Uint8Array of 1 to 6144 bytes; received ${encryptedDataKey instanceof Uint8Array ? `${encryptedDataKey.length} bytes` : typeof encryptedDataKey}`,
  )
  needs(
    typeof token === 'string' && token.length > 0,
    'OPTION_INVALID',
    `token must be a non-empty string; received ${typeof token === 'string' ? 'an empty string' : typeof token}`,
  )
  // JSON.stringify keeps the body valid JSON whatever the token holds; for base64 it only adds quotes.
  return `{"encrypted_data_key": "${encodeUrlsafeBase64(encryptedDataKey)}", "encrypted_message": ${JSON.stringify(token)}}`
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
 * @throws SqsEnvelopeError `BODY_SIZE` (over {@link MAX_BODY_BYTES}),
 * `BODY_NOT_JSON`, `BODY_SHAPE`, `DATA_KEY_ENCODING`, `TOKEN_ENCODING`.
 */
export function parseBody(body: string): ParsedBody {
  needs(typeof body === 'string', 'BODY_NOT_JSON', `body must be a string; received ${typeof body}`)
  needs(!utf8LengthExceeds(body, MAX_BODY_BYTES), 'BODY_SIZE', 'body must be at most 1,048,576 UTF-8 bytes')
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    // No cause: V8's JSON.parse message quotes part of the input.
    throw new SqsEnvelopeError('BODY_NOT_JSON', 'body must be valid JSON')
  }
  needs(
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed),
    'BODY_SHAPE',
    'body must be a JSON object',
  )
  const fields = parsed as Record<string, unknown>
  const encryptedDataKey = fields.encrypted_data_key
  const token = fields.encrypted_message
  needs(
    typeof encryptedDataKey === 'string' && typeof token === 'string' && Object.keys(fields).length === 2,
    'BODY_SHAPE',
    'body must have exactly the string fields "encrypted_data_key" and "encrypted_message"',
  )
  const dataKey = encryptedDataKey.length <= MAX_DATA_KEY_CHARS ? decodeBase64Lenient(encryptedDataKey) : undefined
  needs(
    dataKey !== undefined && dataKey.length >= 1 && dataKey.length <= MAX_DATA_KEY_BYTES,
    'DATA_KEY_ENCODING',
    'encrypted_data_key must be padded base64 (urlsafe or standard) of 1 to 6144 bytes',
  )
  // Decoding (native) is about twice as fast as a regular expression over the alphabet.
  needs(
    token.length > 0 && decodeUrlsafeBase64(token) !== undefined,
    'TOKEN_ENCODING',
    'encrypted_message must be non-empty urlsafe base64 with padding',
  )
  return { encryptedDataKey: dataKey, token }
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

/** Describes an option value for a message, briefly and without contents of objects. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value.length <= 64 ? JSON.stringify(value) : 'a string too long to show'
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
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
    `contentType must be 'text', 'json' or 'bytes'; received ${describe(contentType)}`,
  )
  const attributes: MessageAttributes = {
    [ATTRIBUTE_VERSION]: { DataType: 'String', StringValue: String(WIRE_VERSION) },
    [ATTRIBUTE_CONTENT_TYPE]: { DataType: 'String', StringValue: MIME_BY_CONTENT_TYPE[contentType] },
  }
  const context = options.encryptionContext
  if (context !== undefined) {
    needs(
      isStringRecord(context),
      'OPTION_INVALID',
      `encryptionContext must be an object of string values; received ${describe(context)}`,
    )
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
  needs(
    attribute !== null &&
      typeof attribute === 'object' &&
      attribute.DataType === 'String' &&
      typeof attribute.StringValue === 'string',
    'ATTRIBUTE_INVALID',
    `message attribute ${name} must be of DataType String with a StringValue`,
  )
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
  if (attributes === undefined || attributes === null) return { version: 1, contentType: 'text' }
  const version = stringAttribute(attributes, ATTRIBUTE_VERSION)
  needs(
    version === undefined || version === '1',
    'ATTRIBUTE_INVALID',
    `message attribute ${ATTRIBUTE_VERSION} must be "1"; received ${describe(version)}`,
  )
  const mime = stringAttribute(attributes, ATTRIBUTE_CONTENT_TYPE)
  const contentType = mime === undefined ? 'text' : CONTENT_TYPE_BY_MIME.get(mime)
  needs(
    contentType !== undefined,
    'ATTRIBUTE_INVALID',
    `message attribute ${ATTRIBUTE_CONTENT_TYPE} must be one of ${KNOWN_MIME_TYPES}; received ${describe(mime)}`,
  )
  const contextJson = stringAttribute(attributes, ATTRIBUTE_CONTEXT)
  if (contextJson === undefined) return { version: 1, contentType }
  let encryptionContext: unknown
  try {
    encryptionContext = JSON.parse(contextJson)
  } catch {
    encryptionContext = undefined
  }
  needs(
    isStringRecord(encryptionContext),
    'ATTRIBUTE_INVALID',
    `message attribute ${ATTRIBUTE_CONTEXT} must be a JSON object of string values`,
  )
  assertValidContext(encryptionContext, 'ATTRIBUTE_INVALID', `message attribute ${ATTRIBUTE_CONTEXT}`)
  return { version: 1, contentType, encryptionContext }
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
      needs(
        typeof value === 'string',
        'PAYLOAD_UNSEALABLE',
        `a text payload must be a string; received ${value === null ? 'null' : typeof value}`,
      )
      return value
    case 'bytes':
      needs(
        value instanceof Uint8Array,
        'PAYLOAD_UNSEALABLE',
        `a bytes payload must be a Uint8Array; received ${value === null ? 'null' : typeof value}`,
      )
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
        `a json payload must be serialisable; JSON.stringify returned undefined for ${typeof value}`,
      )
      return json
    }
    default:
      throw new SqsEnvelopeError(
        'OPTION_INVALID',
        `contentType must be 'text', 'json' or 'bytes'; received ${describe(contentType)}`,
      )
  }
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
      needs(isUtf8(plaintext), 'PAYLOAD_INVALID', 'a text payload must be valid UTF-8')
      return plaintext.toString('utf8') as PayloadByContentType[T]
    case 'json': {
      needs(isUtf8(plaintext), 'PAYLOAD_INVALID', 'a json payload must be valid UTF-8')
      try {
        return JSON.parse(plaintext.toString('utf8')) as PayloadByContentType[T]
      } catch {
        // No cause: V8's JSON.parse message quotes part of the plaintext.
        throw new SqsEnvelopeError('PAYLOAD_INVALID', 'a json payload must be valid JSON')
      }
    }
    default:
      throw new SqsEnvelopeError(
        'OPTION_INVALID',
        `contentType must be 'text', 'json' or 'bytes'; received ${describe(contentType)}`,
      )
  }
}
