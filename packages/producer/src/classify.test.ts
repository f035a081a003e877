import { describe, expect, it } from 'vitest'
import { classifyEntryFailure, classifyRequestFailure } from './classify.ts'

function awsError(name: string, status?: number, fault?: 'client' | 'server') {
  return Object.assign(new Error(name), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
    ...(fault === undefined ? {} : { $fault: fault }),
  })
}

describe('classifyEntryFailure', () => {
  it.each([
    ['InternalError', false],
    ['ServiceUnavailable', false],
    ['SomethingNew', false],
    ['ThrottlingException', true],
    ['RequestThrottled', true],
    ['KmsThrottled', true],
  ])('%s (SenderFault %s) is retryable', (Code, SenderFault) => {
    expect(classifyEntryFailure({ Code, SenderFault })).toEqual({
      sqsCode: Code,
      retryable: true,
      mayHaveBeenSent: false,
    })
  })

  it.each(['InvalidParameterValue', 'InvalidMessageContents', 'InvalidAttributeName', 'UnsupportedOperation'])(
    '%s, the sender’s fault, is reported at once',
    (Code) => {
      expect(classifyEntryFailure({ Code, SenderFault: true })).toEqual({
        sqsCode: Code,
        retryable: false,
        mayHaveBeenSent: false,
      })
    },
  )

  it('an entry without a code is retryable and named UnknownError', () => {
    expect(classifyEntryFailure({})).toEqual({ sqsCode: 'UnknownError', retryable: true, mayHaveBeenSent: false })
  })
})

describe('classifyRequestFailure', () => {
  it('throttling is retried and was not sent', () => {
    for (const error of [
      awsError('ThrottlingException', 400),
      awsError('Whatever', 429),
      awsError('RequestThrottled', 403),
    ]) {
      expect(classifyRequestFailure(error)).toMatchObject({ retryable: true, mayHaveBeenSent: false })
    }
  })

  it('a 5xx is retried and may have been sent', () => {
    expect(classifyRequestFailure(awsError('InternalFailure', 500, 'server'))).toEqual({
      sqsCode: 'InternalFailure',
      retryable: true,
      mayHaveBeenSent: true,
    })
  })

  it('a network error without an HTTP answer is retried and may have been sent', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
    expect(classifyRequestFailure(reset)).toEqual({ sqsCode: 'ECONNRESET', retryable: true, mayHaveBeenSent: true })
    expect(classifyRequestFailure(awsError('TimeoutError'))).toMatchObject({ retryable: true, mayHaveBeenSent: true })
  })

  it('an error before sending (no HTTP answer, no system code) is not retried; missing credentials are', () => {
    expect(classifyRequestFailure(new Error('Region is missing'))).toEqual({
      sqsCode: 'Error',
      retryable: false,
      mayHaveBeenSent: false,
    })
    expect(classifyRequestFailure(awsError('CredentialsProviderError'))).toEqual({
      sqsCode: 'CredentialsProviderError',
      retryable: true,
      mayHaveBeenSent: false,
    })
  })

  it.each(['QueueDoesNotExist', 'AccessDeniedException', 'BatchRequestTooLong', 'InvalidParameterValue'])(
    '%s (a 4xx) is not retried',
    (name) => {
      expect(classifyRequestFailure(awsError(name, 400, 'client'))).toEqual({
        sqsCode: name,
        retryable: false,
        mayHaveBeenSent: false,
      })
    },
  )
})
