import type { SqsEnvelopeErrorCode } from '@sqs-envelope/core'
import { SUSPECT_CODES } from '@sqs-envelope/core/internal'

/**
 * Permanent open failures that may mean "this message is bad" or "this worker (its role, its
 * allowlist, its required context) is wrong for every message": KMS_ACCESS_DENIED,
 * KMS_KEY_DISABLED, KMS_KEY_NOT_FOUND, KMS_KEY_NOT_ALLOWED, KMS_INCORRECT_KEY, CONTEXT_MISMATCH.
 * They are the ones the breaker watches; core's `SUSPECT_CODES`, the same set.
 */
export const SUSPECT_KMS_CODES: ReadonlySet<SqsEnvelopeErrorCode> = SUSPECT_CODES

export type BreakerState = 'closed' | 'open' | 'half-open'

/** What to do with a message whose open failed with a suspect code. */
export type SuspectVerdict = 'quarantine' | 'retry'

export interface BreakerOptions {
  /** Suspect failures without evidence in a row (no successful open between) tolerated; the next one opens the breaker. */
  readonly threshold: number
  /** First wait before a probe, in ms. */
  readonly probeBaseDelayMs: number
  /** Longest wait between probes, in ms. */
  readonly probeMaxDelayMs: number
}

/** Failing data keys remembered (with the success count at their first failure); the oldest is forgotten first. */
const FAILING_DATA_KEYS_MAX = 4096

/**
 * Tells "a bad message" from "a worker that cannot open what the queue holds" for the suspect
 * codes ({@link SUSPECT_KMS_CODES}). The rule, in four clauses:
 *
 * 1. **Evidence per data key.** A suspect failure is quarantined when some open succeeded since
 *    the first failure of that message's data key (the `encrypted_data_key` text): proof that
 *    this worker opens other messages, so this key is the odd one. Such a failure is explained:
 *    it is quarantined whatever the breaker's state, and leaves the streak alone. The first
 *    failure of a data key has no evidence (it is retried, a visibility backoff), so a key that
 *    keeps failing while others open is quarantined on a later delivery. A worker whose
 *    allowlist, required context or role is wrong opens nothing, so it never has evidence and
 *    quarantines nothing, however many messages share one data key (one producer may seal
 *    thousands under one) and even when the unwrap cache answers the repeats from its memory of
 *    KMS refusals. A failure whose data key is unknown (`undefined`) has no evidence.
 * 2. **Streak.** Every suspect failure without evidence adds one to a streak; every successful
 *    open (served from the key cache or by KMS) resets it to 0. When a failure takes the streak
 *    past `threshold`, the breaker opens: failures without evidence are then retried and receiving
 *    pauses until a probe.
 * 3. **Probe.** After `probeBaseDelayMs` (doubling up to `probeMaxDelayMs` while probes fail)
 *    one batch is received; the breaker closes when it opened at least one message, whatever
 *    else failed in it. A probe with suspect failures and no open reopens it with the next wait;
 *    one with neither tells nothing (same wait).
 * 4. **A sender cannot stall the worker.** Messages of a disabled key mixed among good traffic
 *    are quarantined from their second delivery on (clause 1), even by a probe: they neither
 *    keep the breaker open nor pile up ahead of the good messages. Their first failures are
 *    separated by good opens, which reset the streak (clause 2); if a run of them does open the
 *    breaker, the next probe that opens a good message closes it (clause 3).
 *
 * Limit: cache hits count as evidence (they do open messages), so a worker that loses
 * `kms:Decrypt` while still receiving messages under data keys it has cached can quarantine
 * messages under new data keys; they are moved intact and can be redriven.
 */
export class KmsBreaker {
  readonly #options: BreakerOptions
  readonly #now: () => number
  #streak = 0
  #state: BreakerState = 'closed'
  #openings = 0
  #probeAt = 0
  // Successful opens so far: a data key failing since before the count moved has evidence.
  #successes = 0
  // Data key text → #successes at its first failure. Insertion order is age order.
  readonly #failing = new Map<string, number>()

  constructor(options: BreakerOptions, now: () => number = Date.now) {
    this.#options = options
    this.#now = now
  }

  get state(): BreakerState {
    return this.#state
  }

  /** Suspect failures without evidence since the last successful open. */
  get streak(): number {
    return this.#streak
  }

  /**
   * A suspect failure of a message whose data key is `dataKey` (its `encrypted_data_key` text;
   * `undefined` if unknown): quarantine it (evidence: an open since its key first failed), or retry it.
   */
  suspectFailure(dataKey: string | undefined): SuspectVerdict {
    if (dataKey !== undefined && this.#evidenceFor(dataKey)) return 'quarantine'
    this.#streak++
    if (this.#state === 'closed' && this.#streak > this.#options.threshold) this.#open()
    return 'retry'
  }

  /** A successful open (cache hit or KMS) of a message whose data key is `dataKey`. Allocates nothing. */
  /** success() uses its data key only while some key is remembered as failing. */
  get wantsDataKey(): boolean {
    return this.#failing.size > 0
  }

  success(dataKey: string | undefined): void {
    this.#streak = 0
    this.#successes++
    // The key works after all (re-enabled, say): its old failure is no evidence against it any more.
    if (dataKey !== undefined && this.#failing.size > 0) this.#failing.delete(dataKey)
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
    if (opened > 0) {
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

  /** True when an open succeeded since `dataKey` first failed; remembers the first failure otherwise. */
  #evidenceFor(dataKey: string): boolean {
    const successesAtFirstFailure = this.#failing.get(dataKey)
    if (successesAtFirstFailure !== undefined) return this.#successes > successesAtFirstFailure
    if (this.#failing.size >= FAILING_DATA_KEYS_MAX) {
      const oldest = this.#failing.keys().next().value
      if (oldest !== undefined) this.#failing.delete(oldest)
    }
    // A copy: the text may be a slice of its body (up to 1 MiB) that would stay alive with it.
    this.#failing.set(Buffer.from(dataKey, 'utf8').toString('utf8'), this.#successes)
    return false
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
