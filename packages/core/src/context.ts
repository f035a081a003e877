/** KMS's own shape for an encryption context. */
type KmsEncryptionContext = Record<string, string>

/** A KMS encryption context: non-secret string pairs that KMS binds to a data key. */
export type EncryptionContext = Readonly<Record<string, string>>

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
    if (actual?.[key] !== value) return key
  }
  return undefined
}
