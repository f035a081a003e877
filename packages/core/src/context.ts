import { Buffer } from 'node:buffer'
import { SqsEnvelopeError, type SqsEnvelopeErrorCode } from './errors.ts'

/** KMS's own shape for an encryption context. */
type KmsEncryptionContext = Record<string, string>

/** A KMS encryption context: non-secret string pairs that KMS binds to a data key. */
export type EncryptionContext = Readonly<Record<string, string>>

/**
 * Most UTF-8 bytes of all keys and values of one encryption context together. KMS bounds
 * the context too; checking first keeps an oversized context from ever reaching it.
 */
export const MAX_CONTEXT_BYTES = 8192

/**
 * Why `context` cannot be a KMS encryption context, or undefined when it can. The one rule
 * set for both sides: the sealer's options, the opener's required pairs and the context
 * attribute of every received message, so nothing KMS would refuse (or answer with a 5xx,
 * as LocalStack does for a lone surrogate) is ever sent to it.
 *
 * Rules: an object whose own keys are non-empty and not `__proto__` (a plain object cannot
 * hold that key as data, so it would vanish from the attribute but not from the KMS request),
 * string values, every key and value well-formed UTF-16 (KMS takes UTF-8), and at most
 * {@link MAX_CONTEXT_BYTES} UTF-8 bytes of keys and values in all.
 */
export function contextProblem(context: unknown): string | undefined {
  if (typeof context !== 'object' || context === null || Array.isArray(context)) {
    return 'must be an object of string values'
  }
  let units = 0
  for (const key of Object.keys(context)) {
    const value = (context as Record<string, unknown>)[key]
    const name = JSON.stringify(key)
    if (key === '') return 'must not have an empty key'
    if (key === '__proto__') return 'must not have the key "__proto__"'
    if (typeof value !== 'string') return `must have a string value under ${name}`
    if (!isWellFormed(key)) return `must have well-formed UTF-16 keys; ${name} holds a lone surrogate`
    if (!isWellFormed(value)) return `must have well-formed UTF-16 values; the value under ${name} has a lone surrogate`
    units += key.length + value.length
  }
  // A UTF-16 code unit takes 1 to 3 UTF-8 bytes: count exactly only when the bound is in reach.
  if (units * 3 > MAX_CONTEXT_BYTES) {
    let bytes = 0
    for (const [key, value] of Object.entries(context as Record<string, string>)) {
      bytes += Buffer.byteLength(key) + Buffer.byteLength(value)
    }
    if (bytes > MAX_CONTEXT_BYTES) {
      return `must hold at most ${MAX_CONTEXT_BYTES} UTF-8 bytes of keys and values; received ${bytes}`
    }
  }
  return undefined
}

// ES2024's String.prototype.isWellFormed (Node.js ≥ 20); the project's TypeScript lib predates it.
function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed()
}

/**
 * Throws `code` naming `what` when `context` breaks a rule of {@link contextProblem}.
 * The wire layer calls it for the context attribute (ATTRIBUTE_INVALID) before any KMS call.
 */
export function assertValidContext(context: unknown, code: SqsEnvelopeErrorCode, what: string): void {
  const problem = contextProblem(context)
  if (problem !== undefined) throw new SqsEnvelopeError(code, `${what} ${problem}`)
}

// Options freeze their contexts, so a sealer's context is canonicalised once, not per message.
const canonicalOfFrozen = new WeakMap<EncryptionContext, string>()

/** One canonical string per context (sorted keys), for cache keys. */
export function canonicalContext(context: EncryptionContext | undefined): string {
  if (!context) return '{}'
  const known = canonicalOfFrozen.get(context)
  if (known !== undefined) return known
  const keys = Object.keys(context).sort()
  const canonical = keys.length === 0 ? '{}' : JSON.stringify(keys.map((k) => [k, context[k]]))
  if (Object.isFrozen(context)) canonicalOfFrozen.set(context, canonical)
  return canonical
}

/** The context as the KMS SDK takes it; undefined when empty, as KMS treats both alike. */
export function kmsContext(context: EncryptionContext | undefined): KmsEncryptionContext | undefined {
  return context && Object.keys(context).length > 0 ? { ...context } : undefined
}

/** The first required pair that `actual` lacks, or undefined when all are there. */
export function missingContextKey(required: EncryptionContext, actual: EncryptionContext | undefined) {
  for (const [key, value] of Object.entries(required)) {
    if (actual === undefined || !Object.hasOwn(actual, key) || actual[key] !== value) return key
  }
  return undefined
}
