import { expect } from 'vitest'
import { isSqsEnvelopeError, type SqsEnvelopeErrorCode } from '../errors.ts'

/** Runs `fn`, expecting it to throw an SqsEnvelopeError; returns its code and message. */
export function failure(fn: () => unknown): { code: SqsEnvelopeErrorCode; message: string } {
  try {
    fn()
  } catch (error) {
    if (!isSqsEnvelopeError(error)) throw error
    return { code: error.code, message: error.message }
  }
  throw new Error('expected an SqsEnvelopeError, but nothing was thrown')
}

/** Expects `fn` to throw an SqsEnvelopeError with this code. */
export function expectFailure(fn: () => unknown, code: SqsEnvelopeErrorCode): void {
  expect(failure(fn).code).toBe(code)
}

/** Awaits `promise`, expecting it to reject with an SqsEnvelopeError; returns its code. */
export async function failureOf(promise: Promise<unknown>): Promise<SqsEnvelopeErrorCode> {
  try {
    await promise
  } catch (error) {
    if (isSqsEnvelopeError(error)) return error.code
    throw error
  }
  throw new Error('expected an SqsEnvelopeError')
}
