export { decodeBase64Lenient, decodeUrlsafeBase64, encodeUrlsafeBase64 } from './base64.ts'
export type { EncryptionContext } from './context.ts'
export {
  isPermanentErrorCode,
  isSqsEnvelopeError,
  isTransientErrorCode,
  PERMANENT_ERROR_CODES,
  type PermanentErrorCode,
  SqsEnvelopeError,
  type SqsEnvelopeErrorCode,
  TRANSIENT_ERROR_CODES,
  type TransientErrorCode,
  USAGE_ERROR_CODES,
  type UsageErrorCode,
} from './errors.ts'
export {
  FERNET_MAX_CLOCK_SKEW_SECONDS,
  Fernet,
  type FernetDecryptOptions,
  type FernetEncryptOptions,
} from './fernet.ts'
export type { KmsMetrics } from './metrics.ts'
export { type EnvelopeMessage, EnvelopeOpener, type OpenedMessage, type OpenOptions } from './opener.ts'
export { DEFAULTS, type KmsOptions, type OpenerOptions, type SealerOptions } from './options.ts'
export { EnvelopeSealer, type SealedMessage, type SealOptions } from './sealer.ts'
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
} from './wire.ts'
