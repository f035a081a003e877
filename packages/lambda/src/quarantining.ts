import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { quarantineInput } from '@sqs-envelope/consumer/internal'
import { SqsEnvelopeError } from '@sqs-envelope/core'
import { requestSignal } from '@sqs-envelope/core/internal'
import type { SQSRecord } from './lambda-types.ts'
import type { QueueDirectory } from './queues.ts'
import { sdkMessage } from './records.ts'
import { type LambdaReporter, refOf } from './reporting.ts'

/** The source of a record: its queue's ARN and URL. */
export interface Source {
  readonly arn: string
  readonly queueUrl: string
}

/** What a {@link Quarantiner} sends with and reports to. */
export interface QuarantinerParts {
  readonly sqs: SQSClient
  readonly directory: QueueDirectory
  readonly reporter: LambdaReporter
  readonly requestTimeoutMs: number
}

/**
 * Sends a poison record intact (its body and every attribute, plus the error code, the source and
 * the time: the consumer's copy) to `quarantineQueueUrl` or the source queue's DLQ. The record
 * counts as done only once that send succeeded; with nowhere to send it, or when the send fails,
 * it is reported as a failure and stays in its queue.
 */
export class Quarantiner {
  readonly #parts: QuarantinerParts

  constructor(parts: QuarantinerParts) {
    this.#parts = parts
  }

  /** True when the copy was sent: the record may then be left out of `batchItemFailures`. */
  async quarantine(record: SQSRecord, error: SqsEnvelopeError, source: Source, signal: AbortSignal): Promise<boolean> {
    let destination: string | undefined
    try {
      destination = await this.#parts.directory.destination(source.arn, source.queueUrl, signal)
    } catch (lookup) {
      this.#failed(record, source, 'the DLQ of the queue could not be looked up', lookup)
      return false
    }
    if (destination === undefined) {
      // Nowhere to send it: it stays (the queue's redrive policy, if one is added, still applies).
      this.#report(record, source, error, undefined)
      return false
    }
    try {
      const input = quarantineInput(sdkMessage(record), error.code, source.queueUrl, destination)
      await this.#parts.sqs.send(new SendMessageCommand(input), {
        abortSignal: requestSignal(signal, this.#parts.requestTimeoutMs),
      })
    } catch (send) {
      this.#failed(record, source, 'sending it to quarantine failed', send)
      return false
    }
    this.#report(record, source, error, destination)
    return true
  }

  /** `destination` undefined: there was nowhere to send it. */
  #report(record: SQSRecord, source: Source, error: SqsEnvelopeError, destination: string | undefined): void {
    this.#parts.reporter.quarantined({
      ...refOf(record, source.queueUrl),
      code: error.code,
      quarantineQueueUrl: destination,
      moved: destination !== undefined,
    })
  }

  #failed(record: SQSRecord, source: Source, what: string, cause: unknown): void {
    this.#parts.reporter.error(
      new SqsEnvelopeError('QUARANTINE_FAILED', `message ${record.messageId} stays in its queue: ${what}`, { cause }),
      source.queueUrl,
      [record],
    )
  }
}
