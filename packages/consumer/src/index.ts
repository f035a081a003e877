export type { BackoffOptions } from './backoff.ts'
export { type BreakerState, SUSPECT_KMS_CODES } from './breaker.ts'
export { type ConsumerState, type ConsumerStatus, EnvelopeConsumer, type StopOptions } from './consumer.ts'
export type { ConsumerEvents, ConsumerMetrics, MessageRef, QuarantineEvent, TransientEvent } from './events.ts'
export type {
  BatchHandler,
  BatchResult,
  HandlerOptions,
  MessageContext,
  MessageHandler,
  ReceivedJob,
} from './handler.ts'
export type { MessageOpener } from './opening.ts'
export { CONSUMER_DEFAULTS, type ConsumerLogger, type ConsumerOptions } from './options.ts'
export {
  defaultPollerFactory,
  type Poller,
  type PollerFactory,
  type PollerHooks,
  type PollerOptions,
  type PollerSignals,
} from './poller.ts'
export {
  ATTRIBUTE_QUARANTINE,
  ATTRIBUTE_QUARANTINE_CODE,
  ATTRIBUTE_QUARANTINE_SOURCE,
  ATTRIBUTE_QUARANTINE_TIME,
} from './quarantine.ts'
export {
  CONSUMER_CHANNELS,
  CONSUMER_DIAGNOSTICS_CHANNEL,
  CONSUMER_MEASURE_CHANNELS,
  type ConsumerChannelEvent,
  type ConsumerChannelMessage,
  type ConsumerDiagnostic,
  type HandlerFinishedMessage,
  type HandlerOutcome,
} from './reporting.ts'
