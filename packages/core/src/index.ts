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
export type { MetricsOptions } from './internal/channel-metrics.ts'
export type { TracingOptions } from './internal/tracing.ts'
export {
  KMS_CHANNELS,
  type KmsCacheEvent,
  type KmsOperation,
  type KmsOutcome,
  type KmsRequestEvent,
} from './kms/channel.ts'
export type { KmsMetrics } from './metrics.ts'
export { type EnvelopeMessage, EnvelopeOpener, type OpenedMessage, type OpenOptions } from './opener.ts'
export { CORE_DEFAULTS, DEFAULTS, type KmsOptions, type OpenerOptions, type SealerOptions } from './options.ts'
export { EnvelopeSealer, type SealedMessage, type SealOptions } from './sealer.ts'
export type { MessageAttributes, ReceivedAttributes, StringMessageAttribute } from './wire/attributes.ts'
export type { ContentType, PayloadByContentType, SealablePayloadByContentType } from './wire/payload.ts'
