import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
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
import { type AwsOptions, CommandFailure, clientConfig, describeError, EXIT, writeLine } from './common.ts'

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

function payload(text: string, contentType: ContentType): unknown {
  if (contentType === 'json') return JSON.parse(text) as unknown
  if (contentType === 'bytes') return Buffer.from(text, 'utf8')
  return text
}

function attributes(values: Record<string, string> | undefined): Record<string, MessageAttributeValue> | undefined {
  if (!values) return undefined
  const out: Record<string, MessageAttributeValue> = {}
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

function createProducer(options: SendCommandOptions): Producer<ContentType> {
  const { region, endpoint } = clientConfig(options)
  return Producer.create({
    queueUrl: options.queueUrl,
    kmsKeyId: options.keyId,
    contentType: options.contentType,
    reuse: options.reuse,
    ...(options.context ? { encryptionContext: options.context } : {}),
    ...(options.deduplicationSecret ? { deduplicationSecret: options.deduplicationSecret } : {}),
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
  }) as Producer<ContentType>
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string))
  return Buffer.concat(chunks).toString('utf8')
}

/** `send BODY` (or the whole of stdin): one message; prints its MessageId. */
export async function sendOne(body: string | undefined, options: SendCommandOptions): Promise<number> {
  if (body === undefined && process.stdin.isTTY) {
    throw new CommandFailure(
      'give the message as an argument, on stdin, or one per line with --lines FILE|-',
      EXIT.usage,
    )
  }
  const text = body ?? (await readAll(process.stdin))
  let message: Job<ContentType>
  try {
    message = job(text, options)
  } catch (error) {
    throw new CommandFailure(`PAYLOAD_UNSEALABLE: the message is not JSON (${describeError(error)})`, EXIT.failed)
  }
  await using producer = createProducer(options)
  const [result] = await producer.send([message])
  if (!result?.ok) throw new CommandFailure(`not sent: ${describeError(result?.error)}`)
  await writeLine(result.messageId)
  return EXIT.ok
}

async function countLines(path: string): Promise<number> {
  let count = 0
  let last = 10
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer
    for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) count++
    last = bytes.at(-1) ?? last
  }
  return last === 10 ? count : count + 1
}

/**
 * `send --lines FILE|-`: one message per non-empty line, all through one producer (so data keys are
 * reused across lines); a progress bar on a terminal; failures on stderr; a summary line on stdout.
 */
export async function sendLines(path: string, options: SendCommandOptions): Promise<number> {
  const fromStdin = path === '-'
  const total = fromStdin
    ? 0
    : await countLines(path).catch((error: unknown) => {
        throw new CommandFailure(`cannot read ${path}: ${describeError(error)}`, EXIT.usage)
      })
  const bar = process.stderr.isTTY
    ? new SingleBar({
        stream: process.stderr,
        format: fromStdin
          ? 'sending {value} lines | {failed} failed'
          : 'sending [{bar}] {percentage}% | {value}/{total} lines | {failed} failed | ETA {eta}s',
        hideCursor: true,
        clearOnComplete: false,
      })
    : undefined
  bar?.start(total, 0, { failed: 0 })

  let sent = 0
  let failed = 0
  const report = (line: number, what: string) => {
    failed++
    bar?.update({ failed })
    // Above the bar when there is one; failures are few lines of their own on stderr.
    if (bar) bar.stop()
    process.stderr.write(`line ${line}: ${what}\n`)
    if (bar) bar.start(total, sent + failed, { failed })
  }
  const producer = createProducer(options)
  // The bar moves with every SendMessageBatch the producer completes, not only at the end of a chunk.
  let inChunk = 0
  const onBatch = (event: unknown) => {
    const batch = event as ProducerBatchEvent
    if (batch.queueUrl !== options.queueUrl) return
    inChunk += batch.succeeded
    bar?.update(sent + failed + inChunk, { failed })
  }
  if (bar) subscribe(PRODUCER_BATCH_CHANNEL, onBatch)
  try {
    const input = fromStdin ? process.stdin : createReadStream(path)
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })
    let chunk: Job<ContentType>[] = []
    let chunkLines: number[] = []
    let lineNumber = 0
    const flush = async () => {
      if (chunk.length === 0) return
      const results: SendResult[] = await producer.send(chunk)
      inChunk = 0
      for (const result of results) {
        if (result.ok) sent++
        else report(chunkLines[result.index] ?? 0, describeError(result.error))
      }
      bar?.update(sent + failed, { failed })
      chunk = []
      chunkLines = []
    }
    for await (const text of lines) {
      lineNumber++
      if (text === '') continue
      try {
        chunk.push(job(text, options, lineNumber))
        chunkLines.push(lineNumber)
      } catch (error) {
        report(lineNumber, `PAYLOAD_UNSEALABLE: not JSON (${describeError(error)})`)
      }
      if (chunk.length >= LINES_PER_SEND) await flush()
    }
    await flush()
  } finally {
    if (bar) unsubscribe(PRODUCER_BATCH_CHANNEL, onBatch)
    bar?.stop()
    await producer.close()
  }
  const { generateDataKeyCalls } = producer.metrics().kms
  await writeLine(
    `sent ${sent}, failed ${failed}, KMS calls ${generateDataKeyCalls} (GenerateDataKey; ${sent + failed} with one data key per message)`,
  )
  return failed === 0 ? EXIT.ok : EXIT.failed
}
