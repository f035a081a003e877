import { SqsEnvelopeError, type SqsEnvelopeErrorCode } from './errors.ts'

/**
 * Asserts a named invariant. Each call site names its precondition in the
 * message, and a test with the same title proves it holds. A message that
 * describes the received value is passed as a function, so the hot path
 * builds no string when the condition holds. Checks that run once per message
 * are written out as `if (...) throw` instead, so they allocate no closure either.
 */
export function needs(
  condition: unknown,
  code: SqsEnvelopeErrorCode,
  message: string | (() => string),
): asserts condition {
  if (!condition) throw new SqsEnvelopeError(code, typeof message === 'string' ? message : message())
}
