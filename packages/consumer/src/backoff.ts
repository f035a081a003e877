/**
 * A jittered exponential backoff, in whole seconds (SQS visibility timeouts are whole seconds).
 * Computed by core's one backoff (`backoffSeconds`): exponential, capped, half fixed and half random.
 */
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
