import type { SqsEnvelopeErrorCode } from '@sqs-envelope/core'

/**
 * KMS answers that may mean "this message is bad" or "this worker (its role, its key) is wrong
 * for every message". They are the ones the breaker watches.
 */
export const SUSPECT_KMS_CODES: ReadonlySet<SqsEnvelopeErrorCode> = new Set([
  'KMS_ACCESS_DENIED',
  'KMS_KEY_DISABLED',
  'KMS_KEY_NOT_FOUND',
])

export type BreakerState = 'closed' | 'open' | 'half-open'

/** What to do with a message whose open failed with a suspect code. */
export type SuspectVerdict = 'quarantine' | 'retry'

export interface BreakerOptions {
  /** Suspect failures in a row that are still quarantined; the next one opens the breaker. */
  readonly threshold: number
  /** First wait before a probe, in ms. */
  readonly probeBaseDelayMs: number
  /** Longest wait between probes, in ms. */
  readonly probeMaxDelayMs: number
}

/**
 * Tells "one bad message" from "a misconfigured worker" for KMS_ACCESS_DENIED, KMS_KEY_DISABLED and
 * KMS_KEY_NOT_FOUND.
 *
 * Rule: every suspect failure adds one to a streak; an open that needed KMS (a data key this
 * consumer had not opened before) and succeeded resets it, because it proves KMS accepts this
 * worker. Opens served from the key cache prove nothing about KMS now, so they do not reset it.
 * While the streak is at most `threshold`, the message is quarantined; the failure after that
 * opens the breaker: suspect failures are then retried (visibility backoff), never quarantined,
 * and receiving pauses until a probe. A probe lets one receive through; the breaker closes when the
 * probe's batch has no suspect failure, and stays open (the wait doubling) otherwise. So a key
 * disabled mid-run quarantines at most `threshold` messages.
 */
export class KmsBreaker {
  readonly #options: BreakerOptions
  readonly #now: () => number
  #streak = 0
  #state: BreakerState = 'closed'
  #openings = 0
  #probeAt = 0

  constructor(options: BreakerOptions, now: () => number = Date.now) {
    this.#options = options
    this.#now = now
  }

  get state(): BreakerState {
    return this.#state
  }

  get streak(): number {
    return this.#streak
  }

  /** A suspect failure: quarantine it, or retry it because the breaker is (now) open. */
  suspectFailure(): SuspectVerdict {
    this.#streak++
    if (this.#state !== 'closed') return 'retry'
    if (this.#streak <= this.#options.threshold) return 'quarantine'
    this.#open()
    return 'retry'
  }

  /** An open that succeeded; `fresh` when it needed a KMS call (a data key not opened before). */
  success(fresh: boolean): void {
    if (fresh && this.#state === 'closed') this.#streak = 0
  }

  /** Ms until receiving may go on; 0 when closed. */
  waitMs(): number {
    if (this.#state === 'closed') return 0
    return Math.max(0, this.#probeAt - this.#now())
  }

  /** True when the caller takes the probe slot (open and its time has come); the state is then half-open. */
  tryProbe(): boolean {
    if (this.#state !== 'open' || this.#now() < this.#probeAt) return false
    this.#state = 'half-open'
    return true
  }

  /** The probe batch's outcome: `suspect` failures seen, `opened` messages that opened. */
  probeResult(suspect: number, opened: number): 'closed' | 'open' {
    if (this.#state !== 'half-open') return this.#state === 'closed' ? 'closed' : 'open'
    if (suspect === 0 && opened > 0) {
      this.#state = 'closed'
      this.#streak = 0
      this.#openings = 0
      return 'closed'
    }
    if (suspect === 0) {
      // Nothing learned (an empty probe): try again after the same wait.
      this.#state = 'open'
      this.#probeAt = this.#now() + this.#delay()
      return 'open'
    }
    this.#open()
    return 'open'
  }

  #delay(): number {
    const { probeBaseDelayMs, probeMaxDelayMs } = this.#options
    return Math.min(probeMaxDelayMs, probeBaseDelayMs * 2 ** Math.min(Math.max(this.#openings - 1, 0), 30))
  }

  #open(): void {
    this.#openings++
    this.#state = 'open'
    this.#probeAt = this.#now() + this.#delay()
  }
}
