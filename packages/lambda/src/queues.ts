import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { deadLetterQueueUrl } from '@sqs-envelope/consumer/internal'
import { SqsEnvelopeError } from '@sqs-envelope/core'
import { describeValue, requestSignal } from '@sqs-envelope/core/internal'
import { parseQueueArn } from './records.ts'

interface QueueEntry {
  url?: Promise<string>
  destination?: Promise<string | undefined>
}

/**
 * What the handler learns about a source queue, once per queue ARN for the life of a warm
 * environment: its URL (GetQueueUrl, as AWS documents it, rather than one built from the ARN, which
 * differs between endpoints) and where its poison goes (`quarantineQueueUrl`, else its DLQ from its
 * RedrivePolicy). A failed look-up is forgotten, so the next invocation asks again.
 */
export class QueueDirectory {
  readonly #sqs: SQSClient
  readonly #quarantineQueueUrl: string | undefined
  readonly #requestTimeoutMs: number
  readonly #entries = new Map<string, QueueEntry>()

  constructor(sqs: SQSClient, quarantineQueueUrl: string | undefined, requestTimeoutMs: number) {
    this.#sqs = sqs
    this.#quarantineQueueUrl = quarantineQueueUrl
    this.#requestTimeoutMs = requestTimeoutMs
  }

  /** The URL of the queue `arn` names. */
  queueUrl(arn: string, signal: AbortSignal): Promise<string> {
    const entry = this.#entry(arn)
    entry.url ??= this.#forgetOnFailure(this.#lookUpUrl(arn, signal), () => {
      entry.url = undefined
    })
    return entry.url
  }

  /** Where poison from the queue `arn` (at `queueUrl`) goes; undefined when nowhere. */
  destination(arn: string, queueUrl: string, signal: AbortSignal): Promise<string | undefined> {
    const entry = this.#entry(arn)
    entry.destination ??=
      this.#quarantineQueueUrl === undefined
        ? this.#forgetOnFailure(
            deadLetterQueueUrl(this.#sqs, queueUrl, requestSignal(signal, this.#requestTimeoutMs)),
            () => {
              entry.destination = undefined
            },
          )
        : Promise.resolve(this.#quarantineQueueUrl)
    return entry.destination
  }

  #entry(arn: string): QueueEntry {
    let entry = this.#entries.get(arn)
    if (entry === undefined) {
      entry = {}
      this.#entries.set(arn, entry)
    }
    return entry
  }

  async #lookUpUrl(arn: string, signal: AbortSignal): Promise<string> {
    const parsed = parseQueueArn(arn)
    if (parsed === undefined) {
      throw new SqsEnvelopeError(
        'MESSAGE_INVALID',
        `eventSourceARN must be an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>); received ${describeValue(arn)}`,
      )
    }
    const { QueueUrl } = await this.#sqs.send(
      new GetQueueUrlCommand({ QueueName: parsed.name, QueueOwnerAWSAccountId: parsed.account }),
      { abortSignal: requestSignal(signal, this.#requestTimeoutMs) },
    )
    if (!QueueUrl) throw new SqsEnvelopeError('SQS_UNAVAILABLE', `GetQueueUrl returned no URL for ${parsed.name}`)
    return QueueUrl
  }

  #forgetOnFailure<T>(lookup: Promise<T>, forget: () => void): Promise<T> {
    lookup.catch(forget)
    return lookup
  }
}
