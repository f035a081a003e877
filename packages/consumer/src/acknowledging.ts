import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { asError, type ConsumerReporter } from './reporting.ts'
import type { RunSignals } from './signals.ts'

/** A visibility to set: `seconds` from now (0: visible again at once). */
export interface VisibilityChange {
  readonly message: Message
  readonly seconds: number
}

/** Where one poller's pipelined delete runs (standard queues): at most one per poller. */
export interface DeleteSlot {
  deleting: Promise<void> | undefined
}

function deleteEntries(messages: readonly Message[]) {
  return messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle }))
}

/**
 * Acknowledging: deletes of handled jobs (in batches, pipelined per poller, or one by one for
 * detached jobs) and visibility changes. Every request carries the run's request signal; a
 * failure is reported (`error`) and the message comes back (at-least-once), never lost.
 */
export class Acknowledger {
  readonly #sqs: SQSClient
  readonly #signals: RunSignals
  readonly #reporter: ConsumerReporter
  readonly #track: (chore: Promise<unknown>) => void

  constructor(
    sqs: SQSClient,
    signals: RunSignals,
    reporter: ConsumerReporter,
    track: (chore: Promise<unknown>) => void,
  ) {
    this.#sqs = sqs
    this.#signals = signals
    this.#reporter = reporter
    this.#track = track
  }

  /**
   * Deletes `acknowledged` without making the caller wait, so that its poller's next receive
   * overlaps this DeleteMessageBatch instead of following it (sqs-consumer awaits its delete before
   * polling again: one round trip per batch). At most one such delete per poller runs: the previous
   * one is awaited first. The messages count as finished when their delete has settled.
   */
  async pipelineDelete(slot: DeleteSlot, queueUrl: string, acknowledged: readonly Message[]): Promise<void> {
    if (slot.deleting) await slot.deleting
    // A throwing message_processed listener is reported, as sqs-consumer reported it, not left unhandled.
    const deleting = this.deleteBatch(queueUrl, acknowledged).catch((error: unknown) =>
      this.#reporter.error(asError(error), queueUrl, acknowledged),
    )
    slot.deleting = deleting
    this.#track(deleting)
    void deleting.finally(() => {
      if (slot.deleting === deleting) slot.deleting = undefined
      this.#reporter.finished(acknowledged.length, queueUrl)
    })
  }

  /** One DeleteMessageBatch of handled jobs; `message_processed` for each one deleted, `error` for the others. */
  async deleteBatch(queueUrl: string, messages: readonly Message[]): Promise<void> {
    let successful: ReadonlySet<string>
    try {
      const { Successful = [] } = await this.#sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: deleteEntries(messages) }),
        { abortSignal: this.#signals.request() },
      )
      successful = new Set(Successful.map((entry) => entry.Id ?? ''))
    } catch (error) {
      this.#reporter.error(asError(error), queueUrl, messages)
      return
    }
    const failed: Message[] = []
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i] as Message
      if (successful.has(String(i))) this.#reporter.deleted(message, queueUrl)
      else failed.push(message)
    }
    if (failed.length > 0) {
      this.#reporter.error(
        new Error(`DeleteMessageBatch failed for ${failed.length} handled messages: they will be delivered again`),
        queueUrl,
        failed,
      )
    }
  }

  /**
   * Deletes `messages` (poison already copied to quarantine); resolves with the indexes deleted.
   * Failures are reported with `what` (e.g. "quarantined messages: they will be quarantined again").
   */
  async deleteMoved(queueUrl: string, messages: readonly Message[], what: string): Promise<ReadonlySet<string>> {
    try {
      const { Successful = [], Failed = [] } = await this.#sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: deleteEntries(messages) }),
        { abortSignal: this.#signals.request() },
      )
      if (Failed.length > 0) {
        this.#reporter.error(
          new Error(`DeleteMessageBatch failed for ${Failed.length} ${what}`),
          queueUrl,
          Failed.map((f) => messages[Number(f.Id)]).filter((m): m is Message => m !== undefined),
        )
      }
      return new Set(Successful.map((entry) => entry.Id ?? ''))
    } catch (error) {
      this.#reporter.error(asError(error), queueUrl, messages)
      return new Set()
    }
  }

  /** Deletes one detached job that succeeded; `message_processed` once deleted. */
  async deleteOne(queueUrl: string, message: Message): Promise<void> {
    try {
      await this.#sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }), {
        abortSignal: this.#signals.request(),
      })
    } catch (error) {
      this.#reporter.error(asError(error), queueUrl, [message])
      return
    }
    this.#reporter.processed(this.#reporter.ref(message, queueUrl), message)
  }

  /** One ChangeMessageVisibilityBatch (at most 10 entries: one receive's worth). */
  async changeVisibility(queueUrl: string, entries: readonly VisibilityChange[]): Promise<void> {
    try {
      const { Failed } = await this.#sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: entries.map(({ message, seconds }, i) => ({
            Id: String(i),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: seconds,
          })),
        }),
        { abortSignal: this.#signals.request() },
      )
      if (Failed && Failed.length > 0) {
        const failed = Failed.map((f) => entries[Number(f.Id)]?.message).filter((m): m is Message => m !== undefined)
        this.#reporter.error(
          new Error(`ChangeMessageVisibilityBatch failed for ${Failed.length} entries`),
          queueUrl,
          failed,
        )
      }
    } catch (error) {
      this.#reporter.error(
        asError(error),
        queueUrl,
        entries.map((e) => e.message),
      )
    }
  }
}
