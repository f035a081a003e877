import { SqsEnvelopeError, type SqsEnvelopeErrorCode } from './errors.ts'

/**
 * Asserts a named invariant. Each call site names its precondition in the
 * message, and a test with the same title proves it holds.
 */
export function needs(condition: unknown, code: SqsEnvelopeErrorCode, message: string): asserts condition {
  if (!condition) throw new SqsEnvelopeError(code, message)
}
