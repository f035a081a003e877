import { dataKeyOf, KmsBreaker, type SuspectVerdict } from '@sqs-envelope/consumer/internal'
import type { LambdaReporter } from './reporting.ts'

export interface BreakerSettings {
  readonly breakerThreshold: number
  readonly breakerProbeBaseDelayMs: number
  readonly breakerProbeMaxDelayMs: number
}

/**
 * The consumer's KMS breaker (its rule: evidence per data key, a streak, probes) across the
 * invocations of a warm environment. Lambda cannot pause receiving, so an open breaker only stops
 * quarantining what has no evidence: such suspect failures are reported as failures (they stay, or
 * go to the DLQ intact by the queue's redrive policy). Once its wait has passed, the next
 * invocation is its probe: it closes when that invocation opened a job.
 */
export class LambdaBreaker {
  readonly #breaker: KmsBreaker
  readonly #reporter: LambdaReporter
  #probing = false
  #suspects = 0
  #opens = 0

  constructor(settings: BreakerSettings, reporter: LambdaReporter) {
    this.#breaker = new KmsBreaker({
      threshold: settings.breakerThreshold,
      probeBaseDelayMs: settings.breakerProbeBaseDelayMs,
      probeMaxDelayMs: settings.breakerProbeMaxDelayMs,
    })
    this.#reporter = reporter
  }

  get state(): KmsBreaker['state'] {
    return this.#breaker.state
  }

  /** At the start of an invocation: is it the probe? */
  begin(): void {
    this.#probing = this.#breaker.tryProbe()
    this.#suspects = 0
    this.#opens = 0
  }

  /** The job of the record with `body` opened: evidence that this function opens what the queue holds. */
  success(body: string): void {
    this.#opens++
    this.#breaker.success(dataKeyOf(body))
  }

  /** A suspect failure of the record with `body`: quarantine it (evidence), or report it as a failure. */
  suspect(body: string, queueUrl: string): SuspectVerdict {
    this.#suspects++
    const before = this.#breaker.state
    const verdict = this.#breaker.suspectFailure(dataKeyOf(body))
    if (before === 'closed' && this.#breaker.state !== before)
      this.#reporter.breakerOpened(this.#breaker.streak, queueUrl)
    return verdict
  }

  /** At the end of an invocation: a probe's outcome. */
  end(queueUrl: string | undefined): void {
    if (!this.#probing) return
    this.#probing = false
    if (this.#breaker.probeResult(this.#suspects, this.#opens) === 'closed')
      this.#reporter.breakerClosed(queueUrl ?? '')
  }
}
