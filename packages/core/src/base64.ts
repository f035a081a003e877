import { Buffer } from 'node:buffer'

/*
 * Strict base64 codecs for the wire format. Node's own decoder is lenient: it
 * skips characters outside the alphabet, stops at the first `=`, reads both
 * alphabets in either mode, and folds a UTF-16 unit above 0xFF onto its low
 * byte (U+0141 decodes as 'A'). Strictness is therefore checked on the string
 * itself, without re-encoding the bytes (which cost 2-4× the decode):
 *  - length a multiple of 4, `=` only as the last one or two characters, and
 *    zero unused bits in the last data character (checked here directly);
 *  - no character above 0xFF (a regular expression that cannot match a
 *    one-byte string, which V8 answers without scanning one);
 *  - no character of the other alphabet (two memchr-speed indexOf calls);
 *  - every other character in the alphabet: any that is not is skipped by the
 *    decoder (or ends it), so the output comes out shorter than the length
 *    the string implies. One skipped character always costs at least a byte.
 */

const EQUALS = 0x3d
/** Matches a UTF-16 unit above 0xFF; V8 answers it for a one-byte string without scanning. */
export const BEYOND_LATIN1 = /[\u0100-\uffff]/

function alphabetValues(alphabet: string): Int8Array {
  const values = new Int8Array(256).fill(-1)
  for (let i = 0; i < 64; i++) values[alphabet.charCodeAt(i)] = i
  return values
}

const URLSAFE_VALUES = alphabetValues('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')
const STANDARD_VALUES = alphabetValues('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')

/**
 * Encodes bytes as urlsafe base64 (`-` and `_`) WITH `=` padding, as Python's
 * `base64.urlsafe_b64encode` does (Node's `'base64url'` omits the padding).
 */
export function encodeUrlsafeBase64(bytes: Uint8Array): string {
  const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const encoded = view.toString('base64url')
  const remainder = bytes.byteLength % 3
  if (remainder === 0) return encoded
  return remainder === 1 ? `${encoded}==` : `${encoded}=`
}

/**
 * Number of bytes `s` decodes to if its length, padding, last character and
 * the absence of characters above 0xFF and of the `other` alphabet's two
 * characters are right; -1 otherwise. The decoder's output length checks the rest.
 */
function expectedLength(s: string, values: Int8Array, other1: string, other2: string): number {
  const n = s.length
  if (n % 4 !== 0) return -1
  if (n === 0) return 0
  const padding = s.charCodeAt(n - 1) !== EQUALS ? 0 : s.charCodeAt(n - 2) !== EQUALS ? 1 : 2
  // One `=` leaves 2 unused bits in the last data character, two leave 4: both must be zero.
  const last = values[s.charCodeAt(n - 1 - padding)] ?? -1
  if (last < 0 || (last & ((1 << (padding * 2)) - 1)) !== 0) return -1
  if (BEYOND_LATIN1.test(s) || s.includes(other1) || s.includes(other2)) return -1
  return (n / 4) * 3 - padding
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
  if (typeof s !== 'string') return undefined
  const length = expectedLength(s, URLSAFE_VALUES, '+', '/')
  if (length < 0) return undefined
  const bytes = Buffer.from(s, 'base64url')
  return bytes.length === length ? bytes : undefined
}

/**
 * {@link decodeUrlsafeBase64} into `target` when the bytes fit: the result is then a view of
 * `target`, valid until `target` is written again. Bytes that do not fit get a buffer of their own.
 */
export function decodeUrlsafeBase64Into(s: string, target: Buffer): Buffer | undefined {
  if (typeof s !== 'string') return undefined
  const length = expectedLength(s, URLSAFE_VALUES, '+', '/')
  if (length < 0) return undefined
  if (length > target.length) {
    const bytes = Buffer.from(s, 'base64url')
    return bytes.length === length ? bytes : undefined
  }
  // Same decoder as Buffer.from: a character it skips shows as a shorter output here too.
  return target.write(s, 0, 'base64url') === length ? target.subarray(0, length) : undefined
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
  if (urlsafe !== undefined || typeof s !== 'string') return urlsafe
  const length = expectedLength(s, STANDARD_VALUES, '-', '_')
  if (length < 0) return undefined
  const bytes = Buffer.from(s, 'base64')
  return bytes.length === length ? bytes : undefined
}
