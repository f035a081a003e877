/** A jittered exponential backoff, in whole seconds (SQS visibility timeouts are whole seconds). */
export interface BackoffOptions {
  /** Delay before the first retry, in seconds. Integer ≥ 0. */
  readonly baseDelaySeconds?: number
  /** Largest delay, in seconds. Integer ≥ baseDelaySeconds, ≤ 43200 (the SQS visibility maximum). */
  readonly maxDelaySeconds?: number
}

export interface ResolvedBackoff {
  readonly baseDelaySeconds: number
  readonly maxDelaySeconds: number
}

/** The longest visibility timeout SQS accepts: 12 hours. */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200

/**
 * The delay before attempt `attempt + 1`: `base · 2^(attempt-1)` capped at `max`, then
 * "equal jitter" (half fixed, half random), so retries of a burst spread out yet never
 * come back at once. `attempt` is the SQS receive count (1 on the first delivery).
 */
export function backoffSeconds(policy: ResolvedBackoff, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30)
  const ceiling = Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** exponent)
  const half = ceiling / 2
  return Math.min(policy.maxDelaySeconds, Math.round(half + random() * half))
}

/** Same shape in milliseconds, for polling pauses (not visibility). */
export function backoffMs(baseMs: number, maxMs: number, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}
