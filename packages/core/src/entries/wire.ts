// `@sqs-envelope/core/wire`: the wire format v1 codecs, for the producer, the consumer and tools
// that build or read SQS messages themselves. Most users need only the root entry.
export { decodeBase64Lenient, decodeUrlsafeBase64, encodeUrlsafeBase64 } from '../base64.ts'
export { sealedBodyBytes } from '../body-size.ts'
export {
  ATTRIBUTE_CONTENT_TYPE,
  ATTRIBUTE_CONTEXT,
  ATTRIBUTE_VERSION,
  type EnvelopeAttributes,
  encodeAttributes,
  type MessageAttributes,
  parseAttributes,
  type ReceivedAttributes,
  type StringMessageAttribute,
  WIRE_VERSION,
} from '../wire/attributes.ts'
export { encodeBody, MAX_BODY_BYTES, MAX_DATA_KEY_BYTES, type ParsedBody, parseBody } from '../wire/body.ts'
export {
  CONTENT_TYPES,
  type ContentType,
  decodePayload,
  encodePayload,
  type PayloadByContentType,
  type SealablePayloadByContentType,
} from '../wire/payload.ts'
