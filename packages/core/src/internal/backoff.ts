/**
 * A retry policy in milliseconds: the first backoff's ceiling and the cap of every backoff.
 * @internal
 */
export interface BackoffPolicy {
  readonly baseMs: number
  readonly maxMs: number
}

/**
 * The same policy in whole seconds, as the consumer's visibility backoffs take it.
 * @internal
 */
export interface BackoffSecondsPolicy {
  readonly baseDelaySeconds: number
  readonly maxDelaySeconds: number
}

// 2^30 times any base already passes every cap we accept; a larger exponent only risks 0 · ∞ = NaN.
const MAX_EXPONENT = 30

function ceiling(attempt: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.min(Math.max(attempt, 1) - 1, MAX_EXPONENT))
}

/** Half of `ceiling` fixed, half random, rounded to a whole unit and never above `max`. */
function equalJitter(ceiling: number, max: number, random: () => number): number {
  const half = ceiling / 2
  return Math.min(max, Math.round(half + random() * half))
}

/**
 * The one backoff: exponential, capped, "equal jitter" (half fixed, half random), so the
 * retries of a burst spread out yet none comes back at once. The delay before attempt
 * `attempt + 1`, in whole ms: `ceiling = min(maxMs, baseMs · 2^(attempt-1))`, then
 * `ceiling/2 + random · ceiling/2`. `attempt` ≥ 1 (the attempt that just failed).
 * @internal
 */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  return equalJitter(ceiling(attempt, policy.baseMs, policy.maxMs), policy.maxMs, random)
}

/**
 * {@link backoffMs} in whole seconds, for SQS visibility timeouts; never above `maxDelaySeconds`.
 * @internal
 */
export function backoffSeconds(
  attempt: number,
  policy: BackoffSecondsPolicy,
  random: () => number = Math.random,
): number {
  return equalJitter(ceiling(attempt, policy.baseDelaySeconds, policy.maxDelaySeconds), policy.maxDelaySeconds, random)
}
