import { describe, expect, it } from 'vitest'
import { PERMANENT_ERROR_CODES, SqsEnvelopeError, type SqsEnvelopeErrorCode } from '../errors.ts'
import { openFailure, SUSPECT_CODES } from './open-verdict.ts'

describe('openFailure: open → verdict', () => {
  it.each([
    'KMS_ACCESS_DENIED',
    'KMS_KEY_DISABLED',
    'KMS_KEY_NOT_FOUND',
    'KMS_KEY_NOT_ALLOWED',
    'KMS_INCORRECT_KEY',
    'CONTEXT_MISMATCH',
  ] as const)('%s (permanent, may be the worker) is suspect', (code) => {
    const error = new SqsEnvelopeError(code, 'x')
    expect(openFailure(error)).toEqual({ verdict: 'suspect', error })
  })

  it.each(['TOKEN_MAC', 'BODY_NOT_JSON', 'KMS_INVALID_CIPHERTEXT', 'KMS_REQUEST_INVALID', 'PAYLOAD_INVALID'] as const)(
    '%s (permanent, the message) is poison',
    (code) => {
      const error = new SqsEnvelopeError(code, 'x')
      expect(openFailure(error)).toEqual({ verdict: 'poison', error })
    },
  )

  it.each(['KMS_UNAVAILABLE', 'KMS_THROTTLED', 'ABORTED', 'CLOSED'] as const)('%s (not permanent) is retry', (code) => {
    const error = new SqsEnvelopeError(code, 'x')
    expect(openFailure(error)).toEqual({ verdict: 'retry', error })
  })

  it('anything else is KMS_UNAVAILABLE, retried, the original kept only as the cause', () => {
    const caught = new TypeError('a bug of ours')
    const { verdict, error } = openFailure(caught)
    expect([verdict, error.code, error.message, error.cause]).toEqual([
      'retry',
      'KMS_UNAVAILABLE',
      'opening failed unexpectedly',
      caught,
    ])
    expect(openFailure('a string').verdict).toBe('retry')
  })

  it('every suspect code is a permanent code', () => {
    const permanent: ReadonlySet<SqsEnvelopeErrorCode> = new Set(PERMANENT_ERROR_CODES)
    expect([...SUSPECT_CODES].filter((code) => !permanent.has(code))).toEqual([])
    expect(SUSPECT_CODES.size).toBe(6)
  })
})
