import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { CONSUMER_DEFAULTS } from '@sqs-envelope/consumer'
import { deadLetterQueueUrl, KmsBreaker, quarantineInput, SUSPECT_KMS_CODES } from '@sqs-envelope/consumer/quarantine'
import { EnvelopeOpener, isSqsEnvelopeError, type OpenedMessage, SqsEnvelopeError } from '@sqs-envelope/core'
import { ATTRIBUTE_CONTENT_TYPE, ATTRIBUTE_CONTEXT, ATTRIBUTE_VERSION } from '@sqs-envelope/core/wire'
import { type AwsOptions, CommandFailure, clientConfig, describeError, EXIT, sqsClient, writeLine } from './common.ts'

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

/** The user's message attributes (the envelope's own left out), as strings; binary ones in base64. */
function userAttributes(message: Message): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (ENVELOPE_ATTRIBUTES.has(name)) continue
    out[name] = value.StringValue ?? (value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : '')
  }
  return out
}

/** The payload as printed: text as is, JSON as one line of JSON, bytes in base64. */
function printable(opened: OpenedMessage, json: boolean): unknown {
  if (opened.contentType === 'bytes') return opened.plaintext.toString('base64')
  if (opened.contentType === 'json') return json ? opened.value : JSON.stringify(opened.value)
  return opened.value
}

type Verdict = 'quarantine' | 'leave'

type Outcome =
  | { readonly message: Message; readonly opened: OpenedMessage; readonly error: undefined }
  | { readonly message: Message; readonly error: SqsEnvelopeError }

/**
 * The consumer's rules for a message that did not open: permanent failures are quarantined, except
 * suspect ones (which may mean a misconfigured reader: see the consumer's KMS breaker), which the breaker
 * quarantines only on evidence per data key; this command does not name the data key, so it leaves them.
 * Transient failures are left.
 */
function verdict(error: SqsEnvelopeError, breaker: KmsBreaker): Verdict {
  if (error.kind !== 'permanent') return 'leave'
  if (!SUSPECT_KMS_CODES.has(error.code)) return 'quarantine'
  return breaker.suspectFailure(undefined) === 'quarantine' ? 'quarantine' : 'leave'
}

async function deleteAll(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<number> {
  if (messages.length === 0) return 0
  const { Failed = [] } = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
    }),
  )
  for (const failure of Failed) {
    const message = messages[Number(failure.Id)]
    process.stderr.write(`message ${message?.MessageId}: not deleted (${failure.Code}); it will be received again\n`)
  }
  return Failed.length
}

/**
 * `receive`: receives up to `max` messages, opens each and prints it; deletes what it printed unless
 * `--keep` (kept and unopened messages are made visible again at the end). A message that does not
 * open is reported on stderr and handled by the consumer's quarantine rules; the status is then 3.
 */
export async function receive(options: ReceiveCommandOptions): Promise<number> {
  const sqs = sqsClient(options)
  const { region, endpoint } = clientConfig(options)
  const opener = new EnvelopeOpener({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(options.allowedKeyArn ? { allowedKmsKeyArns: options.allowedKeyArn } : {}),
    ...(options.context ? { requiredEncryptionContext: options.context } : {}),
  })
  const breaker = new KmsBreaker({
    threshold: CONSUMER_DEFAULTS.breakerThreshold,
    probeBaseDelayMs: CONSUMER_DEFAULTS.breakerProbeBaseDelayMs,
    probeMaxDelayMs: CONSUMER_DEFAULTS.breakerProbeMaxDelayMs,
  })
  let destination: Promise<string | undefined> | undefined
  const release: Message[] = []
  let printed = 0
  let unopenable = 0
  let failures = 0
  let outputClosed: unknown
  try {
    while (printed + unopenable < options.max && outputClosed === undefined) {
      let messages: Message[]
      try {
        ;({ Messages: messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: Math.min(10, options.max - printed - unopenable),
            WaitTimeSeconds: options.waitSeconds,
            ...(options.visibilityTimeout !== undefined ? { VisibilityTimeout: options.visibilityTimeout } : {}),
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
          }),
        ))
      } catch (error) {
        throw new CommandFailure(`cannot receive from ${options.queueUrl}: ${describeError(error)}`, EXIT.failed, {
          cause: error,
        })
      }
      if (messages.length === 0) break
      const outcomes = await Promise.all(
        messages.map(async (message): Promise<Outcome> => {
          try {
            return { message, opened: await opener.open(message), error: undefined }
          } catch (caught) {
            const error = isSqsEnvelopeError(caught)
              ? caught
              : new SqsEnvelopeError('KMS_UNAVAILABLE', 'opening failed unexpectedly', { cause: caught })
            return { message, error }
          }
        }),
      )
      const handled: Message[] = []
      const moved: Message[] = []
      for (const outcome of outcomes) {
        const { message } = outcome
        if (outcome.error === undefined) {
          const value = printable(outcome.opened, options.json)
          try {
            await writeLine(
              options.json
                ? JSON.stringify({ messageId: message.MessageId, body: value, attributes: userAttributes(message) })
                : String(value),
            )
          } catch (error) {
            // Nobody reads the output any more: what was not printed is not deleted.
            outputClosed = error
            release.push(message)
            continue
          }
          printed++
          handled.push(message)
          continue
        }
        unopenable++
        const { error } = outcome
        let fate: string
        if (verdict(error, breaker) === 'leave') {
          fate =
            error.kind === 'permanent'
              ? `left in the queue (${breaker.state === 'closed' ? 'suspect: this reader may be misconfigured' : 'the KMS breaker is open'})`
              : 'left in the queue: retry later'
          release.push(message)
        } else {
          destination ??= options.quarantineQueueUrl
            ? Promise.resolve(options.quarantineQueueUrl)
            : deadLetterQueueUrl(sqs, options.queueUrl)
          const result = await quarantine(sqs, options.queueUrl, message, error, destination)
          if (result.lookupFailed) destination = undefined
          fate = result.fate
          ;(result.moved ? moved : release).push(message)
        }
        process.stderr.write(`message ${message.MessageId}: ${error.code}: ${fate}\n`)
      }
      // Quarantined copies are safe: only now may the originals go.
      failures += await deleteAll(sqs, options.queueUrl, moved)
      if (options.keep) release.push(...handled)
      else failures += await deleteAll(sqs, options.queueUrl, handled)
    }
  } finally {
    await releaseAll(sqs, options.queueUrl, release).catch((error: unknown) => {
      process.stderr.write(`making kept messages visible again failed: ${describeError(error)}\n`)
    })
    opener.close()
    sqs.destroy()
  }
  if (outputClosed !== undefined) {
    throw new CommandFailure(
      `stdout closed (${describeError(outputClosed)}): messages not printed were left in the queue`,
    )
  }
  if (unopenable > 0) return EXIT.unopenable
  return failures > 0 ? EXIT.failed : EXIT.ok
}

/**
 * Copies a poison message intact to `destination` (the consumer's `quarantineInput`); the caller
 * deletes the original only when `moved`. Says what happened, for the report line.
 */
async function quarantine(
  sqs: SQSClient,
  queueUrl: string,
  message: Message,
  error: SqsEnvelopeError,
  destination: Promise<string | undefined>,
): Promise<{ moved: boolean; fate: string; lookupFailed?: boolean }> {
  let target: string | undefined
  try {
    target = await destination
  } catch (lookup) {
    const fate = `left in the queue: its DLQ could not be looked up (${describeError(lookup)})`
    return { moved: false, fate, lookupFailed: true }
  }
  if (target === undefined) {
    return { moved: false, fate: 'left in the queue: it has no DLQ and no --quarantine-queue-url was given' }
  }
  try {
    await sqs.send(new SendMessageCommand(quarantineInput(message, error.code, queueUrl, target)))
    return { moved: true, fate: `moved intact to ${target}` }
  } catch (send) {
    return { moved: false, fate: `left in the queue: moving it to ${target} failed (${describeError(send)})` }
  }
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
