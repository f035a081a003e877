/**
 * Every error this library throws is an {@link SqsEnvelopeError} with a stable
 * `code`. Messages never contain key bytes, tokens or plaintext.
 */

/** Codes for a message that can never be opened: the consumer quarantines these. */
export const PERMANENT_ERROR_CODES = [
  /** The Fernet token is not strict urlsafe base64 with padding. */
  'TOKEN_ENCODING',
  /** The Fernet token does not start with version byte 0x80. */
  'TOKEN_VERSION',
  /** The Fernet token is too short, or its ciphertext is not a whole number of AES blocks. */
  'TOKEN_LENGTH',
  /** The Fernet token's HMAC does not verify: tampered, or sealed with another key. */
  'TOKEN_MAC',
  /** The Fernet token verified but its PKCS7 padding is malformed. */
  'TOKEN_PADDING',
  /** The Fernet token is older than the accepted TTL. */
  'TOKEN_EXPIRED',
  /** The Fernet token's timestamp is further in the future than the allowed clock skew. */
  'TOKEN_FROM_FUTURE',
  /** The SQS body is not valid JSON. */
  'BODY_NOT_JSON',
  /** The SQS body is JSON but not exactly `{"encrypted_data_key","encrypted_message"}` of strings. */
  'BODY_SHAPE',
  /** The SQS body or one of its fields is outside the accepted size bounds. */
  'BODY_SIZE',
  /** `encrypted_data_key` is not strict urlsafe base64 with padding. */
  'DATA_KEY_ENCODING',
  /** A message attribute of ours is malformed (unknown version, bad context JSON, unknown content type). */
  'ATTRIBUTE_INVALID',
  /** The payload does not match its content type: opened JSON that does not parse; sealed text with a lone surrogate. */
  'PAYLOAD_INVALID',
  /** KMS says the data key ciphertext is invalid (corrupt, or the encryption context differs). */
  'KMS_INVALID_CIPHERTEXT',
  /** KMS says the data key was encrypted under a different KMS key than the one requested. */
  'KMS_INCORRECT_KEY',
  /** KMS denied access to the key. */
  'KMS_ACCESS_DENIED',
  /** The KMS key does not exist (or is pending deletion). */
  'KMS_KEY_NOT_FOUND',
  /** The KMS key is disabled or otherwise not usable. */
  'KMS_KEY_DISABLED',
  /** The data key was encrypted under a KMS key that is not in the consumer's allowlist. */
  'KMS_KEY_NOT_ALLOWED',
  /** The message's encryption context does not contain what the consumer requires. */
  'CONTEXT_MISMATCH',
  /**
   * KMS refused the request as malformed (ValidationException and the like): the same
   * request can never succeed, so it is not retried.
   */
  'KMS_REQUEST_INVALID',
  /** SQS refused to take the message (sender fault, e.g. InvalidParameterValue); sending it again cannot help. */
  'SQS_REJECTED',
] as const

/** Codes for a failure that may pass: the consumer retries these and never quarantines for them. */
export const TRANSIENT_ERROR_CODES = [
  /** KMS throttled us after all retries. */
  'KMS_THROTTLED',
  /** KMS answered 5xx, timed out, or could not be reached, after all retries. */
  'KMS_UNAVAILABLE',
  /** The operation was aborted through its AbortSignal. */
  'ABORTED',
  /** SQS throttled, answered 5xx, or could not be reached, after all retries. */
  'SQS_UNAVAILABLE',
  /** Consumer: a handler ran past `handlerTimeoutMs`; its signal was aborted and the message left for redelivery. */
  'HANDLER_TIMEOUT',
  /** Consumer: KMS refused several messages in a row (access denied, key disabled or not found); quarantining stopped and receiving paused until a probe succeeds. */
  'KMS_BREAKER_OPEN',
  /** Consumer: a message that cannot be opened could not be moved to quarantine; it stays in its queue. */
  'QUARANTINE_FAILED',
] as const

/** Codes for programming or configuration errors, thrown synchronously where possible. */
export const USAGE_ERROR_CODES = [
  /** An option has a value outside what it accepts. */
  'OPTION_INVALID',
  /** A Fernet key is not 32 bytes (or its 44-character urlsafe base64). */
  'KEY_INVALID',
  /** A payload cannot be sealed (wrong type for its content type, or too large). */
  'PAYLOAD_UNSEALABLE',
  /** An object was used after it was closed/destroyed. */
  'CLOSED',
  /**
   * The sealed message would exceed the size limit: the sealer's `maxBodyBytes`, or (with its
   * attributes) the queue's MaximumMessageSize.
   */
  'MESSAGE_TOO_LARGE',
  /** A message field is outside what SQS accepts for this queue (delay, group id, deduplication id, attribute). */
  'MESSAGE_INVALID',
  /** A message has more than SQS's 10 attributes, counting those the envelope adds. */
  'TOO_MANY_ATTRIBUTES',
  /** A message attribute name is reserved by the envelope (`SqsEnvelope.*`). */
  'ATTRIBUTE_RESERVED',
] as const

export type PermanentErrorCode = (typeof PERMANENT_ERROR_CODES)[number]
export type TransientErrorCode = (typeof TRANSIENT_ERROR_CODES)[number]
export type UsageErrorCode = (typeof USAGE_ERROR_CODES)[number]
export type SqsEnvelopeErrorCode = PermanentErrorCode | TransientErrorCode | UsageErrorCode

const permanent: ReadonlySet<string> = new Set(PERMANENT_ERROR_CODES)
const transient: ReadonlySet<string> = new Set(TRANSIENT_ERROR_CODES)

/** True when a message failing with this code can never succeed: quarantine it. */
export function isPermanentErrorCode(code: SqsEnvelopeErrorCode): code is PermanentErrorCode {
  return permanent.has(code)
}

/** True when a message failing with this code may succeed later: retry it. */
export function isTransientErrorCode(code: SqsEnvelopeErrorCode): code is TransientErrorCode {
  return transient.has(code)
}

// A registry symbol, so the guard works across duplicate copies of this package.
const BRAND = Symbol.for('@sqs-envelope/core.SqsEnvelopeError')

/** The one error class of sqs-envelope. Narrow on `code`. */
export class SqsEnvelopeError extends Error {
  readonly code: SqsEnvelopeErrorCode

  constructor(code: SqsEnvelopeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SqsEnvelopeError'
    this.code = code
    Object.defineProperty(this, BRAND, { value: true })
  }

  /** `permanent`: never retry; `transient`: retry later; `usage`: fix the calling code. */
  get kind(): 'permanent' | 'transient' | 'usage' {
    if (isPermanentErrorCode(this.code)) return 'permanent'
    if (isTransientErrorCode(this.code)) return 'transient'
    return 'usage'
  }

  /** Only code, name and message: never the cause, which may hold an SDK response. */
  toJSON(): { name: string; code: SqsEnvelopeErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message }
  }
}

/** True for any SqsEnvelopeError, including one from another copy of this package. */
export function isSqsEnvelopeError(value: unknown): value is SqsEnvelopeError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
}
