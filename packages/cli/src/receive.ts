import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { CONSUMER_DEFAULTS } from '@sqs-envelope/consumer'
import { dataKeyOf, KmsBreaker } from '@sqs-envelope/consumer/internal'
import { EnvelopeOpener, type OpenedMessage, type SqsEnvelopeError } from '@sqs-envelope/core'
import { type OpenVerdict, openFailure } from '@sqs-envelope/core/internal'
import { ATTRIBUTE_CONTENT_TYPE, ATTRIBUTE_CONTEXT, ATTRIBUTE_VERSION } from '@sqs-envelope/core/wire'
import { type AwsOptions, resolveAws, sqsClient } from './aws.ts'
import { CommandFailure, describeError, EXIT, writeLine } from './common.ts'
import { escapeControl, escapeJsonControl } from './escape.ts'
import { Quarantine } from './receive-quarantine.ts'
import { type Fate, SeenMessages } from './seen.ts'

export interface ReceiveCommandOptions extends AwsOptions {
  readonly queueUrl: string
  readonly max: number
  readonly waitSeconds: number
  readonly visibilityTimeout?: number
  readonly keep: boolean
  readonly json: boolean
  readonly allowedKeyArn?: string[]
  readonly context?: Record<string, string>
  readonly quarantineQueueUrl?: string
}

const ENVELOPE_ATTRIBUTES: ReadonlySet<string> = new Set([ATTRIBUTE_VERSION, ATTRIBUTE_CONTENT_TYPE, ATTRIBUTE_CONTEXT])

/**
 * The user's message attributes (the envelope's own left out), as strings; binary ones in base64.
 * No prototype, so that any name (`__proto__` too) is an entry; one whose value the SDK could not
 * give (it returns `__proto__` without one) is null.
 */
export function userAttributes(message: Message): Record<string, string | null> {
  const out: Record<string, string | null> = Object.create(null)
  const attributes = message.MessageAttributes
  if (!attributes) return out
  for (const name of Object.keys(attributes)) {
    if (ENVELOPE_ATTRIBUTES.has(name)) continue
    const value = attributes[name]
    if (value === undefined || value === null) out[name] = null
    else out[name] = value.StringValue ?? (value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : '')
  }
  return out
}

/** The payload as printed: text as is, JSON as one line of JSON, bytes in base64. */
function printable(opened: OpenedMessage, json: boolean): unknown {
  if (opened.contentType === 'bytes') return opened.plaintext.toString('base64')
  if (opened.contentType === 'json') return json ? opened.value : JSON.stringify(opened.value)
  return opened.value
}

/**
 * One output line. JSON mode is JSON (control characters escaped by JSON.stringify); plain mode
 * escapes control characters so that a payload can neither forge lines nor drive the terminal.
 */
export function outputLine(message: Message, opened: OpenedMessage, json: boolean): string {
  const value = printable(opened, json)
  if (json) return JSON.stringify({ messageId: message.MessageId, body: value, attributes: userAttributes(message) })
  return opened.contentType === 'json' ? escapeJsonControl(value as string) : escapeControl(String(value))
}

type Opened =
  | { readonly message: Message; readonly opened: OpenedMessage; readonly error: undefined }
  | {
      readonly message: Message
      readonly opened: undefined
      readonly error: SqsEnvelopeError
      /** Why it stays in the queue; undefined when it is poison, to quarantine. */
      readonly left: string | undefined
    }

/** One `receive` call: what it received, printed, moved and left. */
class Receiver {
  readonly #sqs: SQSClient
  readonly #opener: EnvelopeOpener
  readonly #options: ReceiveCommandOptions
  readonly #quarantine: Quarantine
  readonly #breaker = new KmsBreaker({
    threshold: CONSUMER_DEFAULTS.breakerThreshold,
    probeBaseDelayMs: CONSUMER_DEFAULTS.breakerProbeBaseDelayMs,
    probeMaxDelayMs: CONSUMER_DEFAULTS.breakerProbeMaxDelayMs,
  })
  readonly #seen = new SeenMessages()
  /** Made visible again at the end: kept, unopened, unprinted. */
  readonly release: Message[] = []
  printed = 0
  unopenable = 0
  failures = 0
  outputClosed: unknown

  constructor(sqs: SQSClient, opener: EnvelopeOpener, options: ReceiveCommandOptions) {
    this.#sqs = sqs
    this.#opener = opener
    this.#options = options
    this.#quarantine = new Quarantine(sqs, options.queueUrl, options.quarantineQueueUrl)
  }

  /** Receives until `--max`, an empty receive, a receive of only repeats, or a closed stdout. */
  async run(): Promise<void> {
    while (this.printed + this.unopenable < this.#options.max && this.outputClosed === undefined) {
      const { fresh, repeats } = this.#seen.split(await this.#receive())
      const toDelete = repeats.filter((m) => this.#seen.fateOf(m) === 'delete')
      this.release.push(...repeats.filter((m) => this.#seen.fateOf(m) === 'release'))
      if (fresh.length === 0) {
        this.failures += await deleteAll(this.#sqs, this.#options.queueUrl, toDelete)
        break
      }
      for (const outcome of await Promise.all(fresh.map((m) => this.#open(m)))) {
        const fate = outcome.error === undefined ? await this.#print(outcome) : await this.#unopenable(outcome)
        this.#seen.settle(outcome.message, fate)
        ;(fate === 'delete' ? toDelete : this.release).push(outcome.message)
      }
      this.failures += await deleteAll(this.#sqs, this.#options.queueUrl, toDelete)
    }
  }

  async #receive(): Promise<Message[]> {
    const { queueUrl, visibilityTimeout, max, waitSeconds } = this.#options
    try {
      const { Messages = [] } = await this.#sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, max - this.printed - this.unopenable),
          WaitTimeSeconds: waitSeconds,
          ...(visibilityTimeout !== undefined ? { VisibilityTimeout: visibilityTimeout } : {}),
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
        }),
      )
      return Messages
    } catch (error) {
      throw new CommandFailure(`cannot receive from ${queueUrl}: ${describeError(error)}`, EXIT.failed, {
        cause: error,
      })
    }
  }

  /** Opens one message; the breaker learns of every open, as the consumer's does (never rejects). */
  async #open(message: Message): Promise<Opened> {
    const dataKey = dataKeyOf(message.Body)
    try {
      const opened = await this.#opener.open(message)
      this.#breaker.success(dataKey)
      return { message, opened, error: undefined }
    } catch (caught) {
      const { verdict, error } = openFailure(caught)
      return { message, opened: undefined, error, left: this.#leftBecause(verdict, dataKey) }
    }
  }

  /**
   * The consumer's rules: poison is quarantined; a transient failure is left; a suspect one (this
   * reader may be misconfigured) is quarantined only when the breaker has evidence that this reader
   * opens other data keys, and never while it is open.
   */
  #leftBecause(verdict: OpenVerdict, dataKey: string | undefined): string | undefined {
    if (verdict === 'poison') return undefined
    if (verdict === 'retry') return 'left in the queue: retry later'
    if (this.#breaker.suspectFailure(dataKey) === 'quarantine') return undefined
    return this.#breaker.state === 'closed'
      ? 'left in the queue (suspect: this reader may be misconfigured)'
      : 'left in the queue (the KMS breaker is open)'
  }

  /** Prints an opened message; deleted afterwards unless --keep. Nothing printed (stdout closed) is not deleted. */
  async #print({ message, opened }: Opened & { opened: OpenedMessage }): Promise<Fate> {
    if (this.outputClosed !== undefined) return 'release'
    try {
      await writeLine(outputLine(message, opened, this.#options.json))
    } catch (error) {
      this.outputClosed = error
      return 'release'
    }
    this.printed++
    return this.#options.keep ? 'release' : 'delete'
  }

  /** A message that did not open: left or moved intact; reported on stderr with its id and code. */
  async #unopenable({ message, error, left }: Opened & { error: SqsEnvelopeError }): Promise<Fate> {
    this.unopenable++
    let fate: Fate = 'release'
    let what = left
    if (what === undefined) {
      const moved = await this.#quarantine.move(message, error)
      what = moved.what
      // Quarantined copies are safe: only now may the original go.
      if (moved.moved) fate = 'delete'
    }
    process.stderr.write(`message ${escapeControl(message.MessageId ?? '')}: ${error.code}: ${what}\n`)
    return fate
  }
}

async function deleteAll(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<number> {
  if (messages.length === 0) return 0
  let failed = 0
  for (let i = 0; i < messages.length; i += 10) {
    const batch = messages.slice(i, i + 10)
    const { Failed = [] } = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
      }),
    )
    for (const failure of Failed) {
      const message = batch[Number(failure.Id)]
      process.stderr.write(`message ${message?.MessageId}: not deleted (${failure.Code}); it will be received again\n`)
    }
    failed += Failed.length
  }
  return failed
}

/** Kept and unopened messages become visible again at once, after the last receive (so none is received twice). */
async function releaseAll(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const batch = messages.slice(i, i + 10)
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    )
  }
}

/**
 * `receive`: receives up to `max` messages, opens each and prints it once; deletes what it printed
 * unless `--keep` (kept and unopened messages are made visible again at the end). A message that
 * does not open is reported on stderr and handled by the consumer's quarantine rules; the status is then 3.
 */
export async function receive(options: ReceiveCommandOptions): Promise<number> {
  const aws = await resolveAws(options)
  const opener = new EnvelopeOpener({
    ...aws,
    ...(options.allowedKeyArn ? { allowedKmsKeyArns: options.allowedKeyArn } : {}),
    ...(options.context ? { requiredEncryptionContext: options.context } : {}),
  })
  const sqs = sqsClient(aws, options.waitSeconds)
  const receiver = new Receiver(sqs, opener, options)
  try {
    await receiver.run()
  } finally {
    await releaseAll(sqs, options.queueUrl, receiver.release).catch((error: unknown) => {
      process.stderr.write(`making kept messages visible again failed: ${describeError(error)}\n`)
    })
    opener.close()
    sqs.destroy()
  }
  if (receiver.outputClosed !== undefined) {
    throw new CommandFailure(
      `stdout closed (${describeError(receiver.outputClosed)}): messages not printed were left in the queue`,
    )
  }
  if (receiver.unopenable > 0) return EXIT.unopenable
  return receiver.failures > 0 ? EXIT.failed : EXIT.ok
}
