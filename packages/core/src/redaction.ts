/*
 * How values appear in error messages, logs and serialised objects: option
 * values are described briefly, secrets never appear at all.
 */

/** What stands in for a secret in every view of an object. */
export const REDACTED = '[redacted]'

/** The symbol `util.inspect` (and so `console.log`) calls for a custom view. */
export const inspectCustom: unique symbol = Symbol.for('nodejs.util.inspect.custom') as never

/**
 * `Name { field: value, … }` from an object's safe view (its `toJSON()`):
 * secrets appear as the bare word `[redacted]`, other fields as JSON.
 */
export function redactedString(name: string, safe: Readonly<Record<string, unknown>>): string {
  const fields = Object.entries(safe).map(
    ([key, value]) => `${key}: ${value === REDACTED ? REDACTED : (JSON.stringify(value) ?? 'undefined')}`,
  )
  return `${name} { ${fields.join(', ')} }`
}

/**
 * Describes a received value for an error message, briefly and without ever
 * echoing bytes or the contents of objects: numbers, booleans, null and
 * undefined as themselves, strings quoted (cut at 40 characters), byte arrays
 * by length, everything else by kind.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (value instanceof Uint8Array) return `a ${value.constructor.name} of ${value.length} bytes`
  if (Array.isArray(value)) return 'an array'
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) {
    return String(value)
  }
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
