import { SqsEnvelopeError, type SqsEnvelopeErrorCode } from '../errors.ts'

/** What a failed KMS request means for the message behind it. */
export interface KmsFailure {
  readonly code: SqsEnvelopeErrorCode
  /** Worth sending again after a backoff. */
  readonly retryable: boolean
  readonly throttled: boolean
}

// Answers about the message's data key or the key it names: retrying or
// redelivering cannot change them.
const PERMANENT_BY_NAME: Readonly<Record<string, SqsEnvelopeErrorCode>> = {
  InvalidCiphertextException: 'KMS_INVALID_CIPHERTEXT',
  IncorrectKeyException: 'KMS_INCORRECT_KEY',
  AccessDeniedException: 'KMS_ACCESS_DENIED',
  NotFoundException: 'KMS_KEY_NOT_FOUND',
  DisabledException: 'KMS_KEY_DISABLED',
  KMSInvalidStateException: 'KMS_KEY_DISABLED',
  InvalidKeyUsageException: 'KMS_INCORRECT_KEY',
  // Deterministic client errors: KMS refuses the request itself, so sending it again,
  // now or on redelivery, gets the same answer.
  ValidationException: 'KMS_REQUEST_INVALID',
  SerializationException: 'KMS_REQUEST_INVALID',
  InvalidGrantTokenException: 'KMS_REQUEST_INVALID',
  InvalidArnException: 'KMS_REQUEST_INVALID',
  InvalidParameterValue: 'KMS_REQUEST_INVALID',
  InvalidParameterCombination: 'KMS_REQUEST_INVALID',
  MissingParameter: 'KMS_REQUEST_INVALID',
  UnsupportedOperationException: 'KMS_REQUEST_INVALID',
}

const THROTTLE_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
])

interface AwsLikeError {
  name?: unknown
  code?: unknown
  $metadata?: { httpStatusCode?: unknown }
  $retryable?: { throttling?: unknown }
}

/**
 * Sorts a KMS failure into permanent (the message can never be opened: quarantine)
 * or transient (KMS, network, a request timeout or our own credentials: retry, never
 * quarantine); ABORTED when the caller's `signal` has aborted.
 * Deterministic client errors (ValidationException and the like) are permanent.
 * Anything not recognised is transient, so that no message is quarantined for a
 * cause that might pass (credentials, for one); redrive still bounds its retries.
 */
export function classifyKmsError(error: unknown, signal?: AbortSignal): KmsFailure {
  // Only the caller's own signal means ABORTED. An AbortError while it is live comes from the
  // request's timeout (requestTimeoutMs), a TimeoutError from the HTTP handler's: both are a
  // KMS that did not answer in time, which the fall-through below calls KMS_UNAVAILABLE.
  if (signal?.aborted) return { code: 'ABORTED', retryable: false, throttled: false }
  const e = (typeof error === 'object' && error !== null ? error : {}) as AwsLikeError
  const name = typeof e.name === 'string' ? e.name : ''
  const permanent = PERMANENT_BY_NAME[name]
  if (permanent) return { code: permanent, retryable: false, throttled: false }
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined
  if (THROTTLE_NAMES.has(name) || status === 429 || e.$retryable?.throttling === true) {
    return { code: 'KMS_THROTTLED', retryable: true, throttled: true }
  }
  return { code: 'KMS_UNAVAILABLE', retryable: true, throttled: false }
}

/** The SqsEnvelopeError for a classified KMS failure; the SDK error is kept only as `cause`. */
export function kmsError(operation: string, failure: KmsFailure, cause: unknown, attempts: number): SqsEnvelopeError {
  const name = (cause as { name?: unknown } | null)?.name
  // The caller's aborts never get here (the gateway reports them itself): an AbortError is our request timeout.
  const what = name === 'AbortError' ? 'TimeoutError' : typeof name === 'string' && name !== '' ? name : 'an error'
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`
  return new SqsEnvelopeError(failure.code, `KMS ${operation} failed with ${what} after ${tries}`, { cause })
}
