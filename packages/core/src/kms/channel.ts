import { channel } from 'node:diagnostics_channel'

/** The KMS operations the gateway sends. */
export type KmsOperation = 'GenerateDataKey' | 'Decrypt'

/** How one KMS request ended: answered, refused for throttling, or any other failure. */
export type KmsOutcome = 'ok' | 'throttled' | 'error'

/**
 * The `node:diagnostics_channel` names of core's KMS traffic (`sqs-envelope:kms:<event>`), published
 * only while someone subscribes. `request`: one KMS request sent (each attempt), a {@link KmsRequestEvent}.
 * `cache_hit` / `cache_miss`: an open served by the opener's unwrap cache, or one that needed a
 * Decrypt (a {@link KmsCacheEvent}). None carries a key, a token, a body or an encryption context.
 */
export const KMS_CHANNELS = {
  request: 'sqs-envelope:kms:request',
  cache_hit: 'sqs-envelope:kms:cache_hit',
  cache_miss: 'sqs-envelope:kms:cache_miss',
} as const

/** One KMS request we sent (an injected client's own retries inside it are not seen here). */
export interface KmsRequestEvent {
  readonly operation: KmsOperation
  readonly outcome: KmsOutcome
  /** On failure: the stable code it classifies as (KMS_THROTTLED, KMS_UNAVAILABLE, KMS_ACCESS_DENIED, …). */
  readonly code?: string
  readonly durationMs: number
}

/** Which cache served (or missed): only the opener's unwrap cache is reported. */
export interface KmsCacheEvent {
  readonly cache: 'unwrap'
}

const requestChannel = channel(KMS_CHANNELS.request)
const hitChannel = channel(KMS_CHANNELS.cache_hit)
const missChannel = channel(KMS_CHANNELS.cache_miss)
// One frozen message each: a subscribed cache costs no allocation per open either.
const UNWRAP: KmsCacheEvent = Object.freeze({ cache: 'unwrap' })

/** Whether anyone listens for requests: the gateway reads the clock only then. */
export function kmsRequestsObserved(): boolean {
  return requestChannel.hasSubscribers
}

export function publishKmsRequest(
  operation: KmsOperation,
  outcome: KmsOutcome,
  code: string | undefined,
  durationMs: number,
): void {
  if (!requestChannel.hasSubscribers) return
  const event: KmsRequestEvent =
    code === undefined ? { operation, outcome, durationMs } : { operation, outcome, code, durationMs }
  requestChannel.publish(event)
}

/** An open served by (hit) or missing (miss) the unwrap cache. */
export function publishUnwrapCache(hit: boolean): void {
  const target = hit ? hitChannel : missChannel
  if (target.hasSubscribers) target.publish(UNWRAP)
}
