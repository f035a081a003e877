import { describe, expect, it } from 'vitest'
import { isPermanentErrorCode, isTransientErrorCode } from '../errors.ts'
import { awsError } from '../test-support/fake-kms.ts'
import { classifyKmsError, kmsError } from './classify.ts'

describe('classifyKmsError', () => {
  it.each([
    ['InvalidCiphertextException', 'KMS_INVALID_CIPHERTEXT'],
    ['IncorrectKeyException', 'KMS_INCORRECT_KEY'],
    ['AccessDeniedException', 'KMS_ACCESS_DENIED'],
    ['NotFoundException', 'KMS_KEY_NOT_FOUND'],
    ['DisabledException', 'KMS_KEY_DISABLED'],
    ['KMSInvalidStateException', 'KMS_KEY_DISABLED'],
    ['ValidationException', 'KMS_REQUEST_INVALID'],
    ['SerializationException', 'KMS_REQUEST_INVALID'],
    ['InvalidGrantTokenException', 'KMS_REQUEST_INVALID'],
  ] as const)('%s is permanent: %s, not retried', (name, code) => {
    const failure = classifyKmsError(awsError(name))
    expect(failure).toEqual({ code, retryable: false, throttled: false })
    expect(isPermanentErrorCode(failure.code)).toBe(true)
  })

  it.each([
    ['ThrottlingException', 400],
    ['TooManyRequestsException', 400],
    ['SomethingNew', 429],
  ])('%s (HTTP %i) is throttling: transient and retried', (name, status) => {
    const failure = classifyKmsError(awsError(name, status))
    expect(failure).toEqual({ code: 'KMS_THROTTLED', retryable: true, throttled: true })
    expect(isTransientErrorCode(failure.code)).toBe(true)
  })

  it.each([
    ['KMSInternalException', 500],
    ['DependencyTimeoutException', 503],
    ['KeyUnavailableException', 500],
    ['UnrecognizedClientException', 400],
    ['CredentialsProviderError', 0],
  ])('%s (HTTP %i) is unavailable: transient and retried', (name, status) => {
    expect(classifyKmsError(awsError(name, status))).toEqual({
      code: 'KMS_UNAVAILABLE',
      retryable: true,
      throttled: false,
    })
  })

  it('a network error is transient', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    expect(classifyKmsError(error).code).toBe('KMS_UNAVAILABLE')
  })

  it('anything unrecognised is transient, so no message is quarantined for it', () => {
    expect(classifyKmsError('a string').code).toBe('KMS_UNAVAILABLE')
    expect(classifyKmsError(undefined).code).toBe('KMS_UNAVAILABLE')
  })

  it("a request that timed out (the caller's signal live) is KMS_UNAVAILABLE: transient, retried", () => {
    const live = new AbortController().signal
    // Our requestSignal's timeout, as the SDK's handler reports it; and the handler's own requestTimeout.
    const aborted = Object.assign(new Error('Request aborted'), {
      name: 'AbortError',
      cause: new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
    })
    const timedOut = Object.assign(new Error('a request has exceeded the configured 10 ms requestTimeout'), {
      name: 'TimeoutError',
      code: 'ETIMEDOUT',
    })
    for (const error of [aborted, timedOut]) {
      expect(classifyKmsError(error, live)).toEqual({ code: 'KMS_UNAVAILABLE', retryable: true, throttled: false })
      expect(classifyKmsError(error)).toEqual({ code: 'KMS_UNAVAILABLE', retryable: true, throttled: false })
    }
    expect(kmsError('Decrypt', classifyKmsError(aborted), aborted, 5).message).toBe(
      'KMS Decrypt failed with TimeoutError after 5 attempts',
    )
  })

  it('an aborted signal wins over the error it caused', () => {
    const controller = new AbortController()
    controller.abort()
    expect(classifyKmsError(awsError('ThrottlingException'), controller.signal)).toEqual({
      code: 'ABORTED',
      retryable: false,
      throttled: false,
    })
  })
})
