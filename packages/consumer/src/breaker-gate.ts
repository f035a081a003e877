import { SqsEnvelopeError } from '@sqs-envelope/core'
import { delay } from '@sqs-envelope/core/internal'
import { type BreakerState, KmsBreaker, type SuspectVerdict } from './breaker.ts'
import { type ConsumerReporter, publish } from './reporting.ts'

/** What the consumer asks of the breaker's rule (breaker.ts); see {@link KmsBreaker} for the rule itself. */
export interface BreakerRule {
  readonly state: BreakerState
  readonly streak: number
  waitMs(): number
  tryProbe(): boolean
  probeResult(suspect: number, opened: number): 'closed' | 'open'
  suspectFailure(dataKey: string | undefined): SuspectVerdict
  success(dataKey: string | undefined): void
  /** False while success() would ignore its data key, so the caller need not find it. Absent: always wanted. */
  readonly wantsDataKey?: boolean
}

export interface BreakerGateOptions {
  readonly breakerThreshold: number
  readonly breakerProbeBaseDelayMs: number
  readonly breakerProbeMaxDelayMs: number
}

/** A paused poller looks at the breaker again at least this often, in ms. */
const MIN_PAUSE_MS = 200

/** One poller's part in probing: set when its next receive is the probe. */
export interface ProbeSlot {
  probing: boolean
}

/**
 * The breaker wired into the consumer: pollers pause before receiving while it is open and one
 * of them takes the probe; suspect open failures go to it; its transitions become events. One
 * gate is shared by every poller and queue of a consumer.
 */
export class BreakerGate {
  readonly rule: BreakerRule
  readonly #reporter: ConsumerReporter

  constructor(options: BreakerGateOptions, reporter: ConsumerReporter, rule?: BreakerRule) {
    this.rule =
      rule ??
      new KmsBreaker({
        threshold: options.breakerThreshold,
        probeBaseDelayMs: options.breakerProbeBaseDelayMs,
        probeMaxDelayMs: options.breakerProbeMaxDelayMs,
      })
    this.#reporter = reporter
  }

  get state(): BreakerState {
    return this.rule.state
  }

  /** Before a receive: waits while the breaker is open; takes the probe when its time has come. */
  async beforeReceive(slot: ProbeSlot, signal: AbortSignal): Promise<void> {
    while (this.rule.state !== 'closed') {
      if (this.rule.tryProbe()) {
        slot.probing = true
        return
      }
      await delay(Math.max(this.rule.waitMs(), MIN_PAUSE_MS), signal)
    }
  }

  /** A receive answered with `count` messages (0 when it failed): an empty probe tells nothing. */
  received(slot: ProbeSlot, count: number): void {
    if (slot.probing && count === 0) {
      slot.probing = false
      this.rule.probeResult(0, 0)
    }
  }

  /** The probe batch was opened: `suspect` failures, `opened` messages that opened. */
  probed(slot: ProbeSlot, queueUrl: string, suspect: number, opened: number): void {
    if (!slot.probing) return
    slot.probing = false
    if (this.rule.probeResult(suspect, opened) !== 'closed') return
    publish('breaker_closed', queueUrl, 0)
    this.#reporter.logger?.warn('sqs-envelope consumer: KMS breaker closed, receiving again', { queueUrl })
    this.#reporter.emitter.emit('breaker_closed')
  }

  /** A successful open of a message sealed under `dataKey`. */
  success(dataKey: string | undefined): void {
    this.rule.success(dataKey)
  }

  /** A suspect open failure: quarantine or retry; reports the breaker opening (`queueUrl`: where it happened). */
  suspect(dataKey: string | undefined, queueUrl: string): SuspectVerdict {
    const before = this.rule.state
    const verdict = this.rule.suspectFailure(dataKey)
    if (before === 'closed' && this.rule.state !== 'closed') this.#opened(queueUrl)
    return verdict
  }

  #opened(queueUrl: string): void {
    const streak = this.rule.streak
    this.#reporter.logger?.error('sqs-envelope consumer: KMS breaker opened', { streak })
    publish('breaker_opened', queueUrl, streak)
    this.#reporter.emitter.emit('breaker_opened', { streak })
    this.#reporter.error(
      new SqsEnvelopeError(
        'KMS_BREAKER_OPEN',
        `${streak} messages in a row could not be opened for a cause that may be this worker's (KMS access, key allowlist, encryption context): quarantining stopped, receiving paused until a probe succeeds`,
      ),
      queueUrl,
      undefined,
    )
  }
}
