import { Buffer } from 'node:buffer'
import { type EncryptionContext, SqsEnvelopeError, type SqsEnvelopeErrorCode } from '@sqs-envelope/core'
import { describeValue } from '@sqs-envelope/core/internal'
import {
  CONTENT_TYPES,
  type ContentType,
  encodeAttributes,
  encodePayload,
  type SealablePayloadByContentType,
} from '@sqs-envelope/core/wire'
import { type AttributeValue, attributesBytes } from './size.ts'

/** An SQS message attribute, as `@aws-sdk/client-sqs` types it (string, number or binary). */
export interface MessageAttributeValue {
  readonly DataType: string | undefined
  readonly StringValue?: string | undefined
  readonly BinaryValue?: Uint8Array | undefined
  readonly StringListValues?: readonly string[] | undefined
  readonly BinaryListValues?: readonly Uint8Array[] | undefined
}

/** The fields a message carries besides its body: `sqs-producer`'s names, plus the envelope's own. */
export interface MessageFields {
  /** Your id for this message, echoed in its result. Not sent to SQS (entry ids are generated). */
  readonly id?: string
  /** FIFO queues: the message group (required there, refused on standard queues). 1–128 printable ASCII. */
  readonly groupId?: string
  /** FIFO queues: the deduplication id. 1–128 printable ASCII. @defaultValue HMAC of the plaintext with contentBasedDeduplication */
  readonly deduplicationId?: string
  /** Standard queues: seconds before the message becomes visible. Integer 0–900. @defaultValue the queue's */
  readonly delaySeconds?: number
  /** Attributes, at most 10 with the envelope's (2, or 3 with a context). They travel in clear. */
  readonly messageAttributes?: Readonly<Record<string, MessageAttributeValue>>
  /** Replaces the producer's encryption context for this message. */
  readonly encryptionContext?: EncryptionContext
}

/**
 * A message with `sqs-producer`'s field names. Its `body` is the payload to seal, of the type its
 * `contentType` (or the producer's) says.
 */
export type ProducerMessage<Default extends ContentType = 'text'> =
  | (MessageFields & { readonly contentType?: Default; readonly body: SealablePayloadByContentType[Default] })
  | {
      [K in ContentType]: MessageFields & { readonly contentType: K; readonly body: SealablePayloadByContentType[K] }
    }[ContentType]

/**
 * What `send` takes: a payload of the producer's content type, or a message. An object whose own
 * keys are all message fields and include `body` is a message; to send such an object (or an
 * array) as a JSON payload, wrap it: `{ body: value }`.
 */
export type Job<Default extends ContentType = 'text'> = SealablePayloadByContentType[Default] | ProducerMessage<Default>

const MESSAGE_KEYS: ReadonlySet<string> = new Set([
  'id',
  'body',
  'contentType',
  'groupId',
  'deduplicationId',
  'delaySeconds',
  'messageAttributes',
  'encryptionContext',
])

/** SQS's limit of message attributes per message. */
export const MAX_ATTRIBUTES = 10
/** Attribute names with this prefix (any case) belong to the envelope. */
export const RESERVED_ATTRIBUTE_PREFIX = 'sqsenvelope.'
const MAX_DELAY_SECONDS = 900

/** What the producer needs to know about its queue. */
export interface QueueFacts {
  readonly fifo: boolean
  /** MaximumMessageSize, in bytes. */
  readonly maxMessageBytes: number
}

/** A job checked and encoded, ready to seal. */
export interface PreparedJob {
  readonly index: number
  readonly id: string | undefined
  readonly contentType: ContentType
  readonly plaintext: string | Uint8Array
  readonly plaintextBytes: number
  readonly encryptionContext: EncryptionContext | undefined
  /** Bytes SQS counts for the envelope's attributes under the job's own context; undefined without one. */
  readonly contextAttributeBytes: number | undefined
  readonly messageAttributes: Readonly<Record<string, MessageAttributeValue>> | undefined
  /** Bytes SQS counts for the caller's own attributes. */
  readonly attributeBytes: number
  readonly attributeCount: number
  readonly groupId: string | undefined
  readonly deduplicationId: string | undefined
  readonly delaySeconds: number | undefined
}

/** A job refused before any KMS or SQS call. */
export interface RefusedJob {
  readonly index: number
  readonly id: string | undefined
  readonly code: SqsEnvelopeErrorCode
  readonly message: string
}

/** True for an object that is a message rather than a JSON payload (see {@link Job}). */
export function isMessage(job: unknown): job is ProducerMessage<ContentType> {
  if (typeof job !== 'object' || job === null || Array.isArray(job) || job instanceof Uint8Array) return false
  if (!Object.hasOwn(job, 'body')) return false
  for (const key of Object.keys(job)) if (!MESSAGE_KEYS.has(key)) return false
  return true
}

// SQS: group and deduplication ids are 1 to 128 characters of printable ASCII (! to ~).
const FIFO_ID = /^[\x21-\x7e]{1,128}$/
// SQS attribute names: letters, digits, _ - . ; up to 256; no AWS./Amazon. prefix, no leading/trailing or double dots.
const ATTRIBUTE_NAME = /^(?!\.)(?!.*\.\.)(?!.*\.$)[A-Za-z0-9_.-]{1,256}$/
const AWS_PREFIX = /^(aws|amazon)\./i
const DATA_TYPE = /^(String|Number|Binary)(\.[^\s]{1,255})?$/
// A character SQS does not allow in an attribute's type or string value: its allowed set is #x9 | #xA | #xD |
// #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. With the u flag a lone surrogate is a code point of its own.
const NOT_ALLOWED_BY_SQS = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u

class Refusal extends Error {
  readonly code: SqsEnvelopeErrorCode

  constructor(code: SqsEnvelopeErrorCode, message: string) {
    super(message)
    this.code = code
  }
}

function refuse(code: SqsEnvelopeErrorCode, message: string): never {
  throw new Refusal(code, message)
}

/** `encode()`, its SqsEnvelopeError turned into a refusal of the job. */
function refusing<T>(encode: () => T): T {
  try {
    return encode()
  } catch (error) {
    if (error instanceof SqsEnvelopeError) refuse(error.code, error.message)
    throw error
  }
}

/** Core's description of a received value, except that a long string (an id, a name) is not quoted even in part. */
function show(value: unknown): string {
  return typeof value === 'string' && value.length > 40
    ? `a string of ${value.length} characters`
    : describeValue(value)
}

function checkAttributes(attributes: unknown): { bytes: number; count: number } {
  if (attributes === undefined) return { bytes: 0, count: 0 }
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) {
    refuse(
      'MESSAGE_INVALID',
      `messageAttributes must be an object of SQS attribute values; received ${show(attributes)}`,
    )
  }
  const record = attributes as Record<string, AttributeValue & { StringListValues?: unknown }>
  let count = 0
  for (const [name, value] of Object.entries(record)) {
    count++
    checkAttribute(name, value)
  }
  return { bytes: attributesBytes(record), count }
}

/** One attribute against SQS's rules: its name, its type and value, and the characters SQS allows. */
function checkAttribute(name: string, value: AttributeValue) {
  if (name.toLowerCase().startsWith(RESERVED_ATTRIBUTE_PREFIX)) {
    refuse(
      'ATTRIBUTE_RESERVED',
      `message attribute ${JSON.stringify(name)} is reserved: SqsEnvelope.* names belong to the envelope`,
    )
  }
  if (!ATTRIBUTE_NAME.test(name) || AWS_PREFIX.test(name)) {
    refuse(
      'MESSAGE_INVALID',
      `message attribute name ${show(name)} must be 1–256 of A-Z a-z 0-9 _ - . without leading, trailing or double dots, nor an AWS./Amazon. prefix`,
    )
  }
  const ok =
    typeof value === 'object' &&
    value !== null &&
    typeof value.DataType === 'string' &&
    DATA_TYPE.test(value.DataType) &&
    (value.DataType.startsWith('Binary')
      ? value.BinaryValue instanceof Uint8Array && value.BinaryValue.byteLength > 0
      : typeof value.StringValue === 'string' && value.StringValue !== '')
  if (!ok) {
    refuse(
      'MESSAGE_INVALID',
      `message attribute ${JSON.stringify(name)} must have a DataType of String, Number or Binary (with an optional .label) and a non-empty StringValue or BinaryValue to match`,
    )
  }
  // Checked per job: SQS fails the whole request for one such character (LocalStack answers 500).
  if (
    NOT_ALLOWED_BY_SQS.test(value.DataType as string) ||
    (value.StringValue && NOT_ALLOWED_BY_SQS.test(value.StringValue))
  ) {
    refuse(
      'ATTRIBUTE_INVALID',
      `message attribute ${JSON.stringify(name)} has a character SQS does not allow in its DataType or StringValue (a lone surrogate, U+FFFE, U+FFFF, or a control character other than tab, LF and CR)`,
    )
  }
}

/**
 * Turns one job into a prepared job, or a refusal with a stable code: checks its fields against the
 * queue and encodes its payload. Size is checked later, when the data key's length is known.
 */
export function prepareJob(
  job: unknown,
  index: number,
  defaultContentType: ContentType,
  queue: QueueFacts,
): PreparedJob | RefusedJob {
  const message = isMessage(job) ? job : undefined
  const id = typeof message?.id === 'string' ? message.id : undefined
  try {
    if (message !== undefined && message.id !== undefined && typeof message.id !== 'string') {
      refuse('MESSAGE_INVALID', `id must be a string; received ${show(message.id)}`)
    }
    const contentType = message?.contentType ?? defaultContentType
    if (!CONTENT_TYPES.includes(contentType)) {
      refuse('MESSAGE_INVALID', `contentType must be one of ${CONTENT_TYPES.join(', ')}; received ${show(contentType)}`)
    }
    const groupId = checkedGroupId(message?.groupId, queue)
    const deduplicationId = checkedDeduplicationId(message?.deduplicationId, queue)
    const delaySeconds = checkedDelaySeconds(message?.delaySeconds, queue)
    const { bytes: attributeBytes, count: attributeCount } = checkAttributeCount(message?.messageAttributes)
    const encryptionContext = message?.encryptionContext
    // Encoded here so that a malformed context refuses this job alone, not the whole send.
    const contextAttributeBytes =
      encryptionContext === undefined
        ? undefined
        : attributesBytes(refusing(() => encodeAttributes({ contentType, encryptionContext })))
    const plaintext = refusing(() =>
      encodePayload(message ? message.body : (job as SealablePayloadByContentType[ContentType]), contentType),
    )
    return {
      index,
      id,
      contentType,
      plaintext,
      plaintextBytes: typeof plaintext === 'string' ? Buffer.byteLength(plaintext) : plaintext.byteLength,
      encryptionContext,
      contextAttributeBytes,
      messageAttributes: message?.messageAttributes,
      attributeBytes,
      attributeCount,
      groupId,
      deduplicationId,
      delaySeconds,
    }
  } catch (error) {
    if (error instanceof Refusal) return { index, id, code: error.code, message: error.message }
    throw error
  }
}

/** True for a refusal. */
export function isRefused(job: PreparedJob | RefusedJob): job is RefusedJob {
  return 'code' in job
}

function checkedGroupId(groupId: unknown, queue: QueueFacts): string | undefined {
  if (queue.fifo) {
    if (groupId === undefined) refuse('MESSAGE_INVALID', 'groupId is required on a FIFO queue')
  } else if (groupId !== undefined) {
    refuse('MESSAGE_INVALID', 'groupId is for FIFO queues; this queue is a standard queue')
  }
  if (groupId !== undefined && (typeof groupId !== 'string' || !FIFO_ID.test(groupId))) {
    refuse('MESSAGE_INVALID', `groupId must be 1–128 printable ASCII characters; received ${show(groupId)}`)
  }
  return groupId as string | undefined
}

function checkedDeduplicationId(deduplicationId: unknown, queue: QueueFacts): string | undefined {
  if (deduplicationId === undefined) return undefined
  if (!queue.fifo) refuse('MESSAGE_INVALID', 'deduplicationId is for FIFO queues; this queue is a standard queue')
  if (typeof deduplicationId !== 'string' || !FIFO_ID.test(deduplicationId)) {
    refuse(
      'MESSAGE_INVALID',
      `deduplicationId must be 1–128 printable ASCII characters; received ${show(deduplicationId)}`,
    )
  }
  return deduplicationId as string
}

function checkedDelaySeconds(delaySeconds: unknown, queue: QueueFacts): number | undefined {
  if (delaySeconds === undefined) return undefined
  if (
    typeof delaySeconds !== 'number' ||
    !Number.isInteger(delaySeconds) ||
    delaySeconds < 0 ||
    delaySeconds > MAX_DELAY_SECONDS
  ) {
    refuse(
      'MESSAGE_INVALID',
      `delaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}; received ${show(delaySeconds)}`,
    )
  }
  if (queue.fifo) {
    refuse('MESSAGE_INVALID', 'delaySeconds per message is not supported on FIFO queues (set the queue’s DelaySeconds)')
  }
  return delaySeconds as number
}

/** The job's own attributes, checked; the envelope adds at least two (version, content type), a third with a context. */
function checkAttributeCount(attributes: Parameters<typeof checkAttributes>[0]): ReturnType<typeof checkAttributes> {
  const checked = checkAttributes(attributes)
  if (checked.count + 2 > MAX_ATTRIBUTES) {
    refuse(
      'TOO_MANY_ATTRIBUTES',
      `a message may have ${MAX_ATTRIBUTES} attributes, of which the envelope takes 2 (3 with an encryption context); received ${checked.count} of its own`,
    )
  }
  return checked
}
