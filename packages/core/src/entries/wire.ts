// `@sqs-envelope/core/wire`: the wire format v1 codecs, for the producer, the consumer and tools
// that build or read SQS messages themselves. Most users need only the root entry.
export { decodeBase64Lenient, decodeUrlsafeBase64, encodeUrlsafeBase64 } from '../base64.ts'
export { sealedBodyBytes } from '../body-size.ts'
export {
  ATTRIBUTE_CONTENT_TYPE,
  ATTRIBUTE_CONTEXT,
  ATTRIBUTE_VERSION,
  CONTENT_TYPES,
  type ContentType,
  decodePayload,
  type EnvelopeAttributes,
  encodeAttributes,
  encodeBody,
  encodePayload,
  MAX_BODY_BYTES,
  MAX_DATA_KEY_BYTES,
  type MessageAttributes,
  type ParsedBody,
  type PayloadByContentType,
  parseAttributes,
  parseBody,
  type ReceivedAttributes,
  type SealablePayloadByContentType,
  type StringMessageAttribute,
  WIRE_VERSION,
} from '../wire.ts'
