import { assertValidContext, type EncryptionContext } from '../context.ts'
import { SqsEnvelopeError } from '../errors.ts'
import { needs } from '../preconditions.ts'
import { describeValue } from '../redaction.ts'
import { CONTENT_TYPES, type ContentType } from './payload.ts'

/** Attribute carrying the wire format version, `"1"`. */
export const ATTRIBUTE_VERSION = 'SqsEnvelope.Version'
/** Attribute carrying the payload's MIME type (see {@link ContentType}). */
export const ATTRIBUTE_CONTENT_TYPE = 'SqsEnvelope.ContentType'
/** Attribute carrying the KMS encryption context as a JSON object of strings. */
export const ATTRIBUTE_CONTEXT = 'SqsEnvelope.Context'

/** The wire format version this library writes and reads. */
export const WIRE_VERSION = 1

const MIME_BY_CONTENT_TYPE: Readonly<Record<ContentType, string>> = {
  text: 'text/plain; charset=utf-8',
  json: 'application/json',
  bytes: 'application/octet-stream',
}

const CONTENT_TYPE_BY_MIME: ReadonlyMap<string, ContentType> = new Map(
  CONTENT_TYPES.map((type) => [MIME_BY_CONTENT_TYPE[type], type]),
)

const KNOWN_MIME_TYPES = [...CONTENT_TYPE_BY_MIME.keys()].map((mime) => JSON.stringify(mime)).join(', ')

function isContentType(value: unknown): value is ContentType {
  return typeof value === 'string' && Object.hasOwn(MIME_BY_CONTENT_TYPE, value)
}

/** A String message attribute; structurally an SQS `MessageAttributeValue`. */
export interface StringMessageAttribute {
  DataType: 'String'
  StringValue: string
}

/** The message attributes {@link encodeAttributes} returns; fits SQS `SendMessage`'s `MessageAttributes`. */
export type MessageAttributes = Record<string, StringMessageAttribute>

/** Message attributes as received from SQS (any of them, ours or not); an SDK `Message['MessageAttributes']` fits. */
export type ReceivedAttributes = Record<
  string,
  { DataType?: string | undefined; StringValue?: string | undefined } | undefined
>

/** What the attributes of a wire format v1 message say. */
export interface EnvelopeAttributes {
  version: 1
  contentType: ContentType
  /** The KMS encryption context the data key was generated under, when the sender sent one. */
  encryptionContext?: Record<string, string>
}

function isStringRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  for (const key in value) {
    if (typeof (value as Record<string, unknown>)[key] !== 'string') return false
  }
  return true
}

/**
 * The message attributes of a sealed message: version, content type and,
 * when given and non-empty, the encryption context (keys sorted, so equal
 * contexts give equal attributes).
 *
 * @throws SqsEnvelopeError `OPTION_INVALID` for an unknown content type or a
 * context that is not an object of strings.
 */
export function encodeAttributes(options: {
  contentType?: ContentType
  encryptionContext?: Readonly<Record<string, string>> | undefined
}): MessageAttributes {
  const contentType = options.contentType ?? 'text'
  needs(
    isContentType(contentType),
    'OPTION_INVALID',
    () => `contentType must be 'text', 'json' or 'bytes'; received ${describeValue(contentType)}`,
  )
  const attributes: MessageAttributes = {
    [ATTRIBUTE_VERSION]: { DataType: 'String', StringValue: String(WIRE_VERSION) },
    [ATTRIBUTE_CONTENT_TYPE]: { DataType: 'String', StringValue: MIME_BY_CONTENT_TYPE[contentType] },
  }
  const context = options.encryptionContext
  if (context !== undefined) {
    // The opener's rules, so that nothing is sealed that could never be opened (`__proto__` would
    // vanish from the attribute below while KMS still binds it).
    assertValidContext(context, 'OPTION_INVALID', 'encryptionContext')
    const keys = Object.keys(context).sort()
    if (keys.length > 0) {
      const sorted: Record<string, string> = {}
      for (const key of keys) sorted[key] = context[key] as string
      attributes[ATTRIBUTE_CONTEXT] = { DataType: 'String', StringValue: JSON.stringify(sorted) }
    }
  }
  return attributes
}

function stringAttribute(attributes: ReceivedAttributes, name: string): string | undefined {
  const attribute = attributes[name]
  if (attribute === undefined) return undefined
  // Per message, so no message closure (see needs()): the check is written out.
  if (
    attribute === null ||
    typeof attribute !== 'object' ||
    attribute.DataType !== 'String' ||
    typeof attribute.StringValue !== 'string'
  ) {
    throw new SqsEnvelopeError(
      'ATTRIBUTE_INVALID',
      `message attribute ${name} must be of DataType String with a StringValue`,
    )
  }
  return attribute.StringValue
}

/**
 * Reads our attributes, ignoring all others. Each of ours is optional: no
 * version means 1, no content type means text (a Python sender sends none).
 *
 * @throws SqsEnvelopeError `ATTRIBUTE_INVALID` for an unknown version or
 * content type, or a context that is not a JSON object of strings.
 */
export function parseAttributes(attributes: ReceivedAttributes | undefined): EnvelopeAttributes {
  const { contentType, encryptionContext } = readAttributes(attributes, undefined, false)
  return encryptionContext === undefined
    ? { version: 1, contentType }
    : { version: 1, contentType, encryptionContext: encryptionContext as Record<string, string> }
}

/** @internal A context attribute read before: its text and the frozen context it gave. */
export interface KnownContext {
  readonly text: string
  readonly context: EncryptionContext
}

/** @internal What the opener reads from the attributes. */
export interface AttributeFields {
  readonly contentType: ContentType
  readonly encryptionContext: EncryptionContext | undefined
  /** The context attribute's text, when there is one. */
  readonly contextText: string | undefined
}

/**
 * @internal {@link parseAttributes} for the opener: same checks, order and errors. A context
 * attribute whose text is `known.text` gives `known.context` without parsing or checking it
 * again (messages come in runs with one context); a new one is frozen when `freeze` is set.
 */
export function readAttributes(
  attributes: ReceivedAttributes | undefined,
  known: KnownContext | undefined,
  freeze: boolean,
): AttributeFields {
  if (attributes === undefined || attributes === null) {
    return { contentType: 'text', encryptionContext: undefined, contextText: undefined }
  }
  const version = stringAttribute(attributes, ATTRIBUTE_VERSION)
  if (version !== undefined && version !== '1') {
    throw new SqsEnvelopeError(
      'ATTRIBUTE_INVALID',
      `message attribute ${ATTRIBUTE_VERSION} must be "1"; received ${describeValue(version)}`,
    )
  }
  const mime = stringAttribute(attributes, ATTRIBUTE_CONTENT_TYPE)
  const contentType = mime === undefined ? 'text' : CONTENT_TYPE_BY_MIME.get(mime)
  if (contentType === undefined) {
    throw new SqsEnvelopeError(
      'ATTRIBUTE_INVALID',
      `message attribute ${ATTRIBUTE_CONTENT_TYPE} must be one of ${KNOWN_MIME_TYPES}; received ${describeValue(mime)}`,
    )
  }
  const contextText = stringAttribute(attributes, ATTRIBUTE_CONTEXT)
  if (contextText === undefined) return { contentType, encryptionContext: undefined, contextText }
  if (known !== undefined && contextText === known.text) {
    return { contentType, encryptionContext: known.context, contextText }
  }
  let encryptionContext: unknown
  try {
    encryptionContext = JSON.parse(contextText)
  } catch {
    encryptionContext = undefined
  }
  needs(
    isStringRecord(encryptionContext),
    'ATTRIBUTE_INVALID',
    () => `message attribute ${ATTRIBUTE_CONTEXT} must be a JSON object of string values`,
  )
  assertValidContext(encryptionContext, 'ATTRIBUTE_INVALID', `message attribute ${ATTRIBUTE_CONTEXT}`)
  return { contentType, encryptionContext: freeze ? Object.freeze(encryptionContext) : encryptionContext, contextText }
}
