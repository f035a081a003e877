import { SqsEnvelopeError } from '../errors.ts'
import { describeValue } from '../redaction.ts'
import { CONTENT_TYPES, type ContentType } from '../wire/payload.ts'

// The option checks of every sqs-envelope package, so that every option error reads alike: it
// names the option, what it accepts and what it received, described without echoing bytes or
// long strings.

/**
 * Longest delay a Node.js timer can wait, in ms: 2^31 - 1 (2147483647, about 24.8 days). A
 * longer `setTimeout` fires after 1 ms instead, so every option that becomes a timer stops
 * here, and a larger value is rejected, not clamped. Option docs that say "to 2147483647"
 * mean this, and do not repeat why.
 * @internal
 */
export const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * The `OPTION_INVALID` error for option `name`: what it must be and (briefly) what it received.
 * @internal
 */
export function invalidOption(name: string, expected: string, value: unknown): SqsEnvelopeError {
  return new SqsEnvelopeError('OPTION_INVALID', `${name} must be ${expected}; received ${describeValue(value)}`)
}

/**
 * An integer option in [`min`, `max`], or its default when undefined.
 * @internal
 */
export function integerOption(
  name: string,
  value: unknown,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidOption(
      name,
      max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`,
      value,
    )
  }
  return value
}

/**
 * A duration that becomes a timer: an integer from `min` to {@link MAX_TIMER_MS}.
 * @internal
 */
export function timerOption(name: string, value: unknown, fallback: number, min = 1): number {
  return integerOption(name, value, fallback, min, MAX_TIMER_MS)
}

/** @internal */
export function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalidOption(name, 'a boolean', value)
  return value
}

/** @internal */
export function contentTypeOption(name: string, value: unknown, fallback: ContentType): ContentType {
  if (value === undefined) return fallback
  if (!CONTENT_TYPES.includes(value as ContentType))
    throw invalidOption(name, `one of ${CONTENT_TYPES.join(', ')}`, value)
  return value as ContentType
}
