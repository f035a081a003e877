import { type Message, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { deadLetterQueueUrl, quarantineInput } from '@sqs-envelope/consumer/internal'
import type { SqsEnvelopeError } from '@sqs-envelope/core'
import { describeError } from './common.ts'

/**
 * Where `receive` moves poison: `--quarantine-queue-url`, else the queue's DLQ (looked up once,
 * again after a failed lookup). A move is the consumer's `quarantineInput`: the message intact.
 */
export class Quarantine {
  readonly #sqs: SQSClient
  readonly #queueUrl: string
  readonly #quarantineQueueUrl: string | undefined
  #destination: Promise<string | undefined> | undefined

  constructor(sqs: SQSClient, queueUrl: string, quarantineQueueUrl: string | undefined) {
    this.#sqs = sqs
    this.#queueUrl = queueUrl
    this.#quarantineQueueUrl = quarantineQueueUrl
  }

  /** Copies `message` to the destination; the caller deletes the original only when `moved`. `what` is for the report line. */
  async move(message: Message, error: SqsEnvelopeError): Promise<{ readonly moved: boolean; readonly what: string }> {
    this.#destination ??= this.#quarantineQueueUrl
      ? Promise.resolve(this.#quarantineQueueUrl)
      : deadLetterQueueUrl(this.#sqs, this.#queueUrl)
    let target: string | undefined
    try {
      target = await this.#destination
    } catch (lookup) {
      this.#destination = undefined
      return { moved: false, what: `left in the queue: its DLQ could not be looked up (${describeError(lookup)})` }
    }
    if (target === undefined) {
      return { moved: false, what: 'left in the queue: it has no DLQ and no --quarantine-queue-url was given' }
    }
    try {
      await this.#sqs.send(new SendMessageCommand(quarantineInput(message, error.code, this.#queueUrl, target)))
      return { moved: true, what: `moved intact to ${target}` }
    } catch (send) {
      return { moved: false, what: `left in the queue: moving it to ${target} failed (${describeError(send)})` }
    }
  }
}
