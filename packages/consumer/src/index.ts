export { type BackoffOptions, backoffSeconds, MAX_VISIBILITY_TIMEOUT_SECONDS } from './backoff.ts'
export { type BreakerState, KmsBreaker, SUSPECT_KMS_CODES } from './breaker.ts'
export {
  CONSUMER_DIAGNOSTICS_CHANNEL,
  type ConsumerDiagnostic,
  type ConsumerState,
  type ConsumerStatus,
  EnvelopeConsumer,
  type StopOptions,
} from './consumer.ts'
export type { ConsumerEvents, ConsumerMetrics, MessageRef, QuarantineEvent, TransientEvent } from './events.ts'
export {
  acknowledgedIds,
  type BatchHandler,
  type BatchResult,
  type MessageContext,
  type MessageHandler,
  type ReceivedJob,
} from './handler.ts'
export { CONSUMER_DEFAULTS, type ConsumerLogger, type ConsumerOptions } from './options.ts'
export {
  ATTRIBUTE_QUARANTINE,
  ATTRIBUTE_QUARANTINE_CODE,
  ATTRIBUTE_QUARANTINE_SOURCE,
  ATTRIBUTE_QUARANTINE_TIME,
} from './quarantine.ts'
