import { Buffer } from 'node:buffer'

/*
 * Strict base64 codecs for the wire format. Node's own decoder is lenient (it
 * skips unknown characters, accepts both alphabets and missing padding), so a
 * decoded string is accepted only when re-encoding the bytes gives the very
 * same string back. Every byte string has exactly one canonical encoding, so
 * this rejects bad characters, wrong or misplaced padding, mixed alphabets and
 * non-zero trailing bits at once, and it is faster than a character loop or a
 * regular expression because both passes run in native code.
 */

const EQUALS = 0x3d

/**
 * Encodes bytes as urlsafe base64 (`-` and `_`) WITH `=` padding, as Python's
 * `base64.urlsafe_b64encode` does (Node's `'base64url'` omits the padding).
 */
export function encodeUrlsafeBase64(bytes: Uint8Array): string {
  const encoded = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
  const remainder = bytes.byteLength % 3
  if (remainder === 0) return encoded
  return remainder === 1 ? `${encoded}==` : `${encoded}=`
}

/**
 * Decodes strict urlsafe base64 with padding: length a multiple of 4, only
 * `[A-Za-z0-9_-]`, zero to two `=` at the end only, zero trailing bits.
 * The empty string decodes to an empty buffer; callers enforce lengths.
 *
 * @returns the bytes, or `undefined` when `s` is not canonical (never throws,
 * so each caller picks its own error code).
 */
export function decodeUrlsafeBase64(s: string): Buffer | undefined {
  if (typeof s !== 'string' || s.length % 4 !== 0) return undefined
  const bytes = Buffer.from(s, 'base64url')
  const canonical = bytes.toString('base64url')
  const n = s.length
  const padding = n - canonical.length
  if (padding === 0) return canonical === s ? bytes : undefined
  if (padding > 2 || s.charCodeAt(n - 1) !== EQUALS || (padding === 2 && s.charCodeAt(n - 2) !== EQUALS)) {
    return undefined
  }
  return canonical === s.slice(0, canonical.length) ? bytes : undefined
}

/**
 * Decodes strict padded base64 in EITHER the urlsafe (`-_`) or the standard
 * (`+/`) alphabet, but never a mix of both. For `encrypted_data_key`: our
 * senders and Python's `urlsafe_b64encode` use the urlsafe alphabet, while a
 * Python sender following the original recipe may use `base64.b64encode`.
 * Padding and canonical trailing bits are required in both alphabets.
 *
 * @returns the bytes, or `undefined` when `s` is canonical in neither alphabet.
 */
export function decodeBase64Lenient(s: string): Buffer | undefined {
  const urlsafe = decodeUrlsafeBase64(s)
  if (urlsafe !== undefined || typeof s !== 'string' || s.length % 4 !== 0) return urlsafe
  // Node's standard encoder pads, so canonical standard base64 round-trips exactly.
  const bytes = Buffer.from(s, 'base64')
  return bytes.toString('base64') === s ? bytes : undefined
}
