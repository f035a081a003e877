import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createReadStream } from 'node:fs'
import type { ContentType } from '@sqs-envelope/core'
import {
  type Job,
  type MessageAttributeValue,
  PRODUCER_BATCH_CHANNEL,
  Producer,
  type ProducerBatchEvent,
  type SendResult,
} from '@sqs-envelope/producer'
import { SingleBar } from 'cli-progress'
import { type AwsOptions, type AwsSettings, resolveAws } from './aws.ts'
import { CommandFailure, describeError, EXIT, writeLine } from './common.ts'
import { decodeUtf8, NotUtf8, readBytes, utf8Lines } from './text.ts'

export interface SendCommandOptions extends AwsOptions {
  readonly queueUrl: string
  readonly keyId: string
  readonly lines?: string
  readonly attribute?: Record<string, string>
  readonly groupId?: string
  readonly deduplicationId?: string
  readonly deduplicationSecret?: string
  readonly delaySeconds?: number
  readonly contentType: ContentType
  readonly context?: Record<string, string>
  readonly reuse: boolean
}

/** Lines sealed and sent per `Producer.send` call: enough to fill its concurrent batches, bounded in memory. */
const LINES_PER_SEND = 1000

/**
 * `JSON.parse`, except that a failure says where, never what: V8's SyntaxError quotes the input
 * (`Unexpected token 'h', "hello …" is not valid JSON`), and the input is a payload.
 */
export function parseJsonPayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    // Only the position (a number) is kept from V8's message.
    const position = /at position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1]
    const where = position === undefined ? '' : ` at position ${position}`
    throw new SyntaxError(`invalid JSON${where} (${text.length} characters)`)
  }
}

function payload(text: string, contentType: ContentType): unknown {
  if (contentType === 'json') return parseJsonPayload(text)
  if (contentType === 'bytes') return Buffer.from(text, 'utf8')
  return text
}

function attributes(values: Record<string, string> | undefined): Record<string, MessageAttributeValue> | undefined {
  if (!values) return undefined
  // No prototype: an attribute named __proto__ is an entry like any other.
  const out: Record<string, MessageAttributeValue> = Object.create(null)
  for (const [name, value] of Object.entries(values)) out[name] = { DataType: 'String', StringValue: value }
  return out
}

/** The message for one payload text; `line` (1-based) numbers the deduplication ids of `--lines`. */
function job(text: string, options: SendCommandOptions, line?: number): Job<ContentType> {
  const messageAttributes = attributes(options.attribute)
  return {
    body: payload(text, options.contentType),
    ...(messageAttributes ? { messageAttributes } : {}),
    ...(options.groupId ? { groupId: options.groupId } : {}),
    ...(options.deduplicationId
      ? { deduplicationId: line === undefined ? options.deduplicationId : `${options.deduplicationId}-${line}` }
      : {}),
    ...(options.delaySeconds !== undefined ? { delaySeconds: options.delaySeconds } : {}),
  } as Job<ContentType>
}

function createProducer(options: SendCommandOptions, aws: AwsSettings): Producer<ContentType> {
  const { region, endpoint } = aws
  return Producer.create({
    queueUrl: options.queueUrl,
    kmsKeyId: options.keyId,
    contentType: options.contentType,
    reuse: options.reuse,
    ...(options.context ? { encryptionContext: options.context } : {}),
    ...(options.deduplicationSecret ? { deduplicationSecret: options.deduplicationSecret } : {}),
    region,
    ...(endpoint ? { endpoint } : {}),
  }) as Producer<ContentType>
}

/** The whole of stdin as strict UTF-8; empty stdin is no message (an empty job is refused, exit 2). */
async function readStdin(): Promise<string> {
  const bytes = await readBytes(process.stdin)
  if (bytes.length === 0) {
    throw new CommandFailure('no message: BODY was not given and stdin is empty; nothing was sent', EXIT.usage)
  }
  return decodeUtf8(bytes, 'stdin')
}

/** `send BODY` (or the whole of stdin): one message; prints its MessageId. */
export async function sendOne(body: string | undefined, options: SendCommandOptions): Promise<number> {
  if (body === undefined && process.stdin.isTTY) {
    throw new CommandFailure(
      'give the message as an argument, on stdin, or one per line with --lines FILE|-',
      EXIT.usage,
    )
  }
  const aws = await resolveAws(options)
  const text = body ?? (await readStdin())
  let message: Job<ContentType>
  try {
    message = job(text, options)
  } catch (error) {
    throw new CommandFailure(`PAYLOAD_UNSEALABLE: the message is not JSON (${describeError(error)})`, EXIT.failed)
  }
  await using producer = createProducer(options, aws)
  const [result] = await producer.send([message])
  if (!result?.ok) throw new CommandFailure(`not sent: ${describeError(result?.error)}`)
  await writeLine(result.messageId)
  return EXIT.ok
}

/** Counts the lines of a file, and checks that every one is UTF-8 before any is sent. */
async function countLines(path: string): Promise<number> {
  let count = 0
  for await (const _ of utf8Lines(createReadStream(path), path)) count++
  return count
}

/** Counts sent and failed lines; on a terminal, a progress bar on stderr with failures printed above it. */
class Progress {
  sent = 0
  failed = 0
  readonly #bar: SingleBar | undefined
  readonly #total: number

  constructor(total: number, fromStdin: boolean) {
    this.#total = total
    this.#bar = process.stderr.isTTY
      ? new SingleBar({
          stream: process.stderr,
          format: fromStdin
            ? 'sending {value} lines | {failed} failed'
            : 'sending [{bar}] {percentage}% | {value}/{total} lines | {failed} failed | ETA {eta}s',
          hideCursor: true,
          clearOnComplete: false,
        })
      : undefined
    this.#bar?.start(total, 0, { failed: 0 })
  }

  get shown(): boolean {
    return this.#bar !== undefined
  }

  /** A line that was not sent, with why. */
  report(line: number, what: string): void {
    this.failed++
    // Above the bar when there is one; failures are few lines of their own on stderr.
    this.#bar?.stop()
    process.stderr.write(`line ${line}: ${what}\n`)
    this.#bar?.start(this.#total, this.sent + this.failed, { failed: this.failed })
  }

  /** Moves the bar; `inFlight` lines of the current chunk are already sent. */
  update(inFlight = 0): void {
    this.#bar?.update(this.sent + this.failed + inFlight, { failed: this.failed })
  }

  stop(): void {
    this.#bar?.stop()
  }
}

/** Sends lines in chunks of {@link LINES_PER_SEND} through one producer. */
class LineSender {
  readonly #producer: Producer<ContentType>
  readonly #progress: Progress
  readonly #options: SendCommandOptions
  #chunk: Job<ContentType>[] = []
  #chunkLines: number[] = []
  /** Lines of the chunk being sent that SQS took already (for the bar). */
  #inFlight = 0

  constructor(producer: Producer<ContentType>, progress: Progress, options: SendCommandOptions) {
    this.#producer = producer
    this.#progress = progress
    this.#options = options
  }

  /** Adds line `number`; sends the chunk when it is full. */
  async add(text: string, number: number): Promise<void> {
    if (text === '') return
    try {
      this.#chunk.push(job(text, this.#options, number))
      this.#chunkLines.push(number)
    } catch (error) {
      this.#progress.report(number, `PAYLOAD_UNSEALABLE: not JSON (${describeError(error)})`)
    }
    if (this.#chunk.length >= LINES_PER_SEND) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.#chunk.length === 0) return
    const results: SendResult[] = await this.#producer.send(this.#chunk)
    this.#inFlight = 0
    for (const result of results) {
      if (result.ok) this.#progress.sent++
      else this.#progress.report(this.#chunkLines[result.index] ?? 0, describeError(result.error))
    }
    this.#progress.update()
    this.#chunk = []
    this.#chunkLines = []
  }

  /** The bar moves with every SendMessageBatch the producer completes, not only at the end of a chunk. */
  readonly onBatch = (event: unknown): void => {
    const batch = event as ProducerBatchEvent
    if (batch.queueUrl !== this.#options.queueUrl) return
    this.#inFlight += batch.succeeded
    this.#progress.update(this.#inFlight)
  }
}

/**
 * Sends every line of `input`. A line that is not UTF-8 stops the reading (stdin cannot be checked
 * before sending, as a file is): the lines before it are sent, then the refusal is thrown.
 */
async function sendAll(sender: LineSender, input: AsyncIterable<string>): Promise<NotUtf8 | undefined> {
  let number = 0
  try {
    for await (const text of input) await sender.add(text, ++number)
  } catch (error) {
    if (!(error instanceof NotUtf8)) throw error
    await sender.flush()
    return new NotUtf8(
      error.where,
      `reading stopped there: the lines before it were handled (see the summary), none after`,
    )
  }
  await sender.flush()
  return undefined
}

/**
 * `send --lines FILE|-`: one message per non-empty line, all through one producer (so data keys are
 * reused across lines); a progress bar on a terminal; failures on stderr; a summary line on stdout.
 * A file is checked to be UTF-8 text before any line is sent.
 */
export async function sendLines(path: string, options: SendCommandOptions): Promise<number> {
  const aws = await resolveAws(options)
  const fromStdin = path === '-'
  const total = fromStdin
    ? 0
    : await countLines(path).catch((error: unknown) => {
        if (error instanceof NotUtf8) throw error
        throw new CommandFailure(`cannot read ${path}: ${describeError(error)}`, EXIT.usage)
      })
  const progress = new Progress(total, fromStdin)
  const producer = createProducer(options, aws)
  const sender = new LineSender(producer, progress, options)
  if (progress.shown) subscribe(PRODUCER_BATCH_CHANNEL, sender.onBatch)
  let refused: NotUtf8 | undefined
  try {
    refused = await sendAll(
      sender,
      utf8Lines(fromStdin ? process.stdin : createReadStream(path), fromStdin ? 'stdin' : path),
    )
  } finally {
    if (progress.shown) unsubscribe(PRODUCER_BATCH_CHANNEL, sender.onBatch)
    progress.stop()
    await producer.close()
  }
  const { generateDataKeyCalls } = producer.metrics().kms
  const { sent, failed } = progress
  await writeLine(
    `sent ${sent}, failed ${failed}, KMS calls ${generateDataKeyCalls} (GenerateDataKey; ${sent + failed} with one data key per message)`,
  )
  if (refused) throw refused
  return failed === 0 ? EXIT.ok : EXIT.failed
}
