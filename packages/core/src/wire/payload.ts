import { type Buffer, isAscii, isUtf8 } from 'node:buffer'
import { SqsEnvelopeError } from '../errors.ts'
import { needs } from '../preconditions.ts'
import { describeValue } from '../redaction.ts'

/**
 * How a payload is encoded before sealing: `text` (UTF-8 string, the default
 * and what a Python sender without attributes sends), `json` (a value, via
 * JSON.stringify), `bytes` (raw bytes).
 */
export type ContentType = 'text' | 'json' | 'bytes'

/** The content types, in no particular order. */
export const CONTENT_TYPES: readonly ContentType[] = ['text', 'json', 'bytes']

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

// String.prototype.isWellFormed is ES2024 (Node 20+), past the es2023 lib this repository compiles with.
interface WellFormedCheck {
  isWellFormed(): boolean
}

/** Whether `text` has no lone surrogate: a linear scan in V8, immediate for a one-byte (latin1) string. */
function isWellFormed(text: string): boolean {
  return (text as unknown as WellFormedCheck).isWellFormed()
}

const LONE_SURROGATE = 'a text payload must be well-formed UTF-16: it holds a lone surrogate, which UTF-8 cannot carry'

/**
 * Turns a payload into what {@link Fernet.encrypt} seals: the string itself
 * for text, JSON.stringify's output for json, the bytes themselves (not
 * copied) for bytes.
 *
 * JSON.stringify escapes a lone surrogate inside a json value (`"\ud800"`),
 * which JSON.parse restores: only text needs the check below.
 *
 * @throws SqsEnvelopeError `PAYLOAD_UNSEALABLE` when the value does not fit
 * its content type (json: undefined, a function, a BigInt, a cycle...);
 * `PAYLOAD_INVALID` for text that is not well-formed UTF-16 (a lone
 * surrogate), which UTF-8 cannot carry; `OPTION_INVALID` for an unknown
 * content type.
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
      // UTF-8 cannot carry a lone surrogate: Buffer.from would seal U+FFFD in its place, unnoticed.
      if (!isWellFormed(value)) throw new SqsEnvelopeError('PAYLOAD_INVALID', LONE_SURROGATE)
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
