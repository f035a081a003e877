import { isSqsEnvelopeError, SqsEnvelopeError, type SqsEnvelopeErrorCode } from '../errors.ts'

/**
 * What a failed open means for its message: `poison` (quarantine it), `suspect` (maybe this
 * worker cannot open what the queue holds: the breaker decides), `retry` (leave it for later).
 * @internal
 */
export type OpenVerdict = 'poison' | 'suspect' | 'retry'

/**
 * Permanent failures that may mean "this worker cannot open what the queue holds" (its role,
 * its key, its allowlist or its required context is wrong) rather than "this message is bad".
 * @internal
 */
export const SUSPECT_CODES: ReadonlySet<SqsEnvelopeErrorCode> = new Set<SqsEnvelopeErrorCode>([
  'KMS_ACCESS_DENIED',
  'KMS_KEY_DISABLED',
  'KMS_KEY_NOT_FOUND',
  'KMS_KEY_NOT_ALLOWED',
  'KMS_INCORRECT_KEY',
  'CONTEXT_MISMATCH',
])

/**
 * The one open → verdict policy. Anything that is not an SqsEnvelopeError is a bug or a
 * surprise of ours, never proof that the message is bad: KMS_UNAVAILABLE, retried.
 * @internal
 */
export function openFailure(caught: unknown): { readonly verdict: OpenVerdict; readonly error: SqsEnvelopeError } {
  const error = isSqsEnvelopeError(caught)
    ? caught
    : new SqsEnvelopeError('KMS_UNAVAILABLE', 'opening failed unexpectedly', { cause: caught })
  if (error.kind !== 'permanent') return { verdict: 'retry', error }
  return { verdict: SUSPECT_CODES.has(error.code) ? 'suspect' : 'poison', error }
}
