import { type Message, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { SqsEnvelopeError } from '@sqs-envelope/core'
import type { Acknowledger } from './acknowledging.ts'
import type { QuarantineEvent } from './events.ts'
import type { PoisonJob } from './opening.ts'
import { deadLetterQueueUrl, quarantineInput } from './quarantine.ts'
import { type ConsumerReporter, publish } from './reporting.ts'
import type { RunSignals } from './signals.ts'

/** A queue's quarantine destination, looked up once (undefined: none). */
export interface QuarantineTarget {
  readonly queueUrl: string
  destination?: Promise<string | undefined>
}

interface Moved {
  readonly message: Message
  readonly event: QuarantineEvent
}

/**
 * Quarantining: each poison message is copied intact to the quarantine destination
 * (`quarantineQueueUrl`, else the queue's DLQ), and only the ones whose copy succeeded are then
 * deleted from the source, at once (not with the batch's handled jobs). With nowhere to move it, a
 * message stays in place and is reported. The copy and the DLQ lookup are quarantine.ts's.
 */
export class Quarantiner {
  readonly #sqs: SQSClient
  readonly #signals: RunSignals
  readonly #reporter: ConsumerReporter
  readonly #acknowledger: Acknowledger
  readonly #quarantineQueueUrl: string | undefined

  constructor(
    sqs: SQSClient,
    signals: RunSignals,
    reporter: ConsumerReporter,
    acknowledger: Acknowledger,
    quarantineQueueUrl: string | undefined,
  ) {
    this.#sqs = sqs
    this.#signals = signals
    this.#reporter = reporter
    this.#acknowledger = acknowledger
    this.#quarantineQueueUrl = quarantineQueueUrl
  }

  async quarantineAll(target: QuarantineTarget, poison: readonly PoisonJob[]): Promise<void> {
    if (poison.length === 0) return
    const copies = await Promise.all(poison.map((p) => this.#copy(target, p)))
    const moved = copies.filter((m): m is Moved => m !== undefined)
    if (moved.length === 0) return
    const deleted = await this.#acknowledger.deleteMoved(
      target.queueUrl,
      moved.map((m) => m.message),
      'quarantined messages: they will be quarantined again',
    )
    for (const [i, { event }] of moved.entries()) if (deleted.has(String(i))) this.#report(event)
  }

  #report(event: QuarantineEvent): void {
    this.#reporter.logger?.warn('sqs-envelope consumer: message quarantined', {
      code: event.code,
      messageId: event.messageId,
      queueUrl: event.queueUrl,
      quarantineQueueUrl: event.quarantineQueueUrl,
    })
    this.#reporter.counts.quarantined++
    publish('message_quarantined', event.queueUrl, 1, event.code)
    this.#reporter.emitter.emit('message_quarantined', event)
  }

  #destination(target: QuarantineTarget): Promise<string | undefined> {
    target.destination ??=
      this.#quarantineQueueUrl === undefined
        ? deadLetterQueueUrl(this.#sqs, target.queueUrl, this.#signals.request())
        : Promise.resolve(this.#quarantineQueueUrl)
    return target.destination
  }

  /** Sends the copy; resolves with what to delete, or undefined when the message stays in place. */
  async #copy(target: QuarantineTarget, { message, error }: PoisonJob): Promise<Moved | undefined> {
    const ref = this.#reporter.ref(message, target.queueUrl)
    let destination: string | undefined
    try {
      destination = await this.#destination(target)
    } catch (lookup) {
      target.destination = undefined
      this.#failed(target.queueUrl, message, 'the DLQ of the queue could not be looked up', lookup)
      return undefined
    }
    if (destination === undefined) {
      // Nowhere to move it: leave it in place (redrive, if any is added later, still applies) and report it.
      this.#reporter.emitter.emit('message_quarantined', {
        ...ref,
        code: error.code,
        quarantineQueueUrl: undefined,
        moved: false,
      })
      return undefined
    }
    try {
      await this.#sqs.send(new SendMessageCommand(quarantineInput(message, error.code, target.queueUrl, destination)), {
        abortSignal: this.#signals.request(),
      })
    } catch (send) {
      this.#failed(target.queueUrl, message, 'sending it to quarantine failed', send)
      return undefined
    }
    // Only now that the copy is safe may the original be deleted.
    return { message, event: { ...ref, code: error.code, quarantineQueueUrl: destination, moved: true } }
  }

  #failed(queueUrl: string, message: Message, what: string, cause: unknown): void {
    this.#reporter.error(
      new SqsEnvelopeError('QUARANTINE_FAILED', `message ${message.MessageId} stays in its queue: ${what}`, { cause }),
      queueUrl,
      [message],
    )
  }
}
